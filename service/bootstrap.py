"""The composition root: builds storage, the event store, the use cases, the render pool, the
projection runner and the gRPC server, and stops each of them. Nothing else constructs these.

    settings ──► Edge (tokens, TLS, metrics) ─┐
                 EventStore + persistence ────┼─► use cases ──► servicers ──► grpc.Server
                 ProjectionRunner ────────────┘
"""
import ipaddress
import logging
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health

from projections.runner import ProjectionRunner
from service.config import Settings
from service.event_store import EventStore
from service.grpc.edge import Edge
from service.grpc.services import UseCases, build_grpc_server, serving
from service.persistence.document_index import DocumentIndex
from service.persistence.ledger import Ledger
from service.persistence.reseller_index import ResellerIndex
from service.render.pool import RenderPool
from service.usecases.credit_notes import CreditNotes
from service.usecases.einvoicing import EInvoicing
from service.usecases.event_feed import EventFeed
from service.usecases.ingest import Ingest
from service.usecases.invoice_queries import InvoiceQueries
from service.usecases.invoicing import Invoicing
from service.usecases.numbering import NumberingAdmin
from service.usecases.payments import Payments
from service.usecases.projection_admin import ProjectionAdmin
from service.usecases.rendering import Rendering
from service.usecases.resellers import Resellers
from service.usecases.store_audit import StoreAudit
from service.usecases.templates import Templates

log = logging.getLogger("billing.server")
INGEST_THREADS = 8  # storing threads; each stream keeps at most one batch in flight
RENDER_WORKERS = 2
RENDER_WARM_SECONDS = 60


@dataclass
class System:
    """A built server: `server.start()` serves; `stop()` drains RPCs and releases everything."""

    server: grpc.Server
    port: int
    store: EventStore
    runner: ProjectionRunner
    use_cases: UseCases
    health: health.HealthServicer
    edge: Edge
    executors: list

    def stop(self, grace: float | None = None) -> None:
        self.health.enter_graceful_shutdown()
        self.runner.close_streams()  # following audit streams end now, not at the grace's end
        self.server.stop(grace).wait()
        self.runner.stop()
        self.use_cases.rendering.close()  # the render workers
        for executor in self.executors:
            executor.shutdown(wait=True)
        self.store.close()
        self.edge.close()


def build_use_cases(store: EventStore, runner: ProjectionRunner, ingest_writer: ThreadPoolExecutor,
                    render_workers: int = RENDER_WORKERS) -> UseCases:
    ledger, index = Ledger(store.backend), DocumentIndex(store.backend)
    counter_lock = threading.Lock()  # documents and series changes of this process queue for the counters
    numbering = NumberingAdmin(store, index, counter_lock)
    resellers = Resellers(store, ResellerIndex(store.backend), numbering)
    templates = Templates(store)
    invoicing = Invoicing(store, ledger, index, resellers, numbering, store.backend.reseller_guard, counter_lock,
                          templates.default_version, guard_first=store.backend.postgres)
    rendering = Rendering(store, templates, lambda: RenderPool(max_workers=render_workers))
    queries = InvoiceQueries(runner)
    return UseCases(
        resellers=resellers,
        ingest=Ingest(ledger, resellers, ingest_writer),
        invoicing=invoicing,
        numbering=numbering,
        templates=templates,
        rendering=rendering,
        queries=queries,
        feed=EventFeed(store, runner),
        projection_admin=ProjectionAdmin(store, runner),
        store_audit=StoreAudit(store, ledger, index),
        credit_notes=CreditNotes(store, invoicing, resellers, numbering, counter_lock, templates.default_version),
        payments=Payments(store, invoicing, resellers, queries),
        einvoicing=EInvoicing(templates, rendering),
    )


def create_server(settings: Settings) -> System:
    """Open the store and bind the server (port 0 picks a free port); `server.start()` serves."""
    edge = Edge(settings)  # tokens file parsed before the store opens: a bad one stops start-up
    store = EventStore(settings.database)
    runner = ProjectionRunner(store).start()  # follows the log in a background thread
    store.on_saved.append(runner.wake)  # in-process writes: applied within ~50 ms (at once for a waiting reader)
    ingest_writer = ThreadPoolExecutor(max_workers=INGEST_THREADS, thread_name_prefix="ingest")
    use_cases = build_use_cases(store, runner, ingest_writer)
    if settings.warm_render_pool:  # `billing serve`: no request meets a cold render worker
        use_cases.rendering.start_pool()  # returns at once; the workers boot in the background
    server, rpc_executor, health_servicer = build_grpc_server(use_cases, edge.interceptors, settings.workers)
    port = edge.open_ports(server)  # TLS when configured; /metrics when configured
    if settings.warm_render_pool:
        serving(health_servicer, ready=False)  # the library's default for "" is SERVING
        threading.Thread(target=serving_when_warm, args=(use_cases, health_servicer), daemon=True,
                         name="health-when-warm").start()
    else:
        serving(health_servicer)  # the store is open: serving
    return System(server, port, store, runner, use_cases, health_servicer, edge, [ingest_writer, rpc_executor])


def serving_when_warm(use_cases: UseCases, health_servicer: health.HealthServicer) -> None:
    """Health says SERVING once the render workers have warmed up (RPCs are answered meanwhile, but
    a load balancer or a client waiting for SERVING never sends a render to a cold worker; issue
    #11). A pool that has not booted after RENDER_WARM_SECONDS does not keep the server out."""
    if not use_cases.rendering.wait_warm(RENDER_WARM_SECONDS):
        log.warning("render workers not warm after %d s; serving anyway", RENDER_WARM_SECONDS)
    serving(health_servicer)


# ---- the admin console (SPEC §16): `serve` starts it after the gRPC server, stops it first -----------
class ConsoleStartError(Exception):
    """The console cannot be served; the message is one line naming --console-listen."""


def start_console(system: System, settings: Settings):
    """Serve the admin console on settings.console_listen as a client of this server's own gRPC port.

    Returns the running ConsoleServer (`stop()` it before the gRPC server), or None when the console
    is off. Raises ConsoleStartError when the address cannot be bound. `create_server` (used by the
    tests) never starts it: only `billing serve` does.
    """
    if not settings.console_listen:
        return None
    from service.console.server import ConsoleServer, ConsoleSettings  # web libraries only when served
    root = Path(settings.tls_cert).read_bytes() if settings.tls_cert else None
    console = ConsoleServer(ConsoleSettings(
        listen=settings.console_listen, grpc_target=loopback_target(settings.listen, system.port),
        auth_enabled=bool(settings.tokens_file), secret=settings.console_secret,
        tls_cert=settings.tls_cert, tls_key=settings.tls_key,
        grpc_root_cert=root, grpc_server_name=certificate_name(settings.tls_cert) if root else None))
    try:
        port = console.start()
    except OSError as e:
        reason = (e.strerror or str(e)).removeprefix("console: ")
        raise ConsoleStartError(f"--console-listen / BILLING_CONSOLE_LISTEN: {reason}") from None
    scheme = "https" if settings.tls_cert and settings.tls_key else "http"
    host = settings.console_listen.rpartition(":")[0]
    log.info("admin console on %s://%s:%d/ (%s)", scheme, host, port,
             "sign-in with a token" if settings.tokens_file else "no sign-in: authentication off")
    return console


def loopback_target(listen: str, port: int) -> str:
    """Where the console reaches this server: 127.0.0.1 when it listens on every or a loopback address,
    else the one address it listens on."""
    host = listen.rpartition(":")[0].strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"127.0.0.1:{port}" if host in ("", "*", "localhost") else f"{host}:{port}"
    if address.is_unspecified or address.is_loopback:
        return f"[::1]:{port}" if address == ipaddress.ip_address("::1") else f"127.0.0.1:{port}"
    return f"[{host}]:{port}" if address.version == 6 else f"{host}:{port}"


def certificate_name(cert_file: str) -> str | None:
    """A DNS name the server certificate is valid for (localhost preferred), for the console's TLS
    check of the loopback gRPC connection; None when it names none (then the target's address is used)."""
    try:
        decoded = ssl._ssl._test_decode_cert(cert_file)  # noqa: SLF001 - stdlib PEM reader, no extra dependency
    except (AttributeError, OSError, ValueError, ssl.SSLError):
        return None
    names = [value for kind, value in decoded.get("subjectAltName", ()) if kind == "DNS"]
    if "localhost" in names:
        return "localhost"
    if any(kind == "IP Address" and value == "127.0.0.1" for kind, value in decoded.get("subjectAltName", ())):
        return None
    if names:
        return names[0].replace("*.", "console.", 1)
    common = [value for rdn in decoded.get("subject", ()) for key, value in rdn if key == "commonName"]
    return common[0] if common else None
