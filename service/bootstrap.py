"""The composition root: builds storage, the event store, the use cases, the render pool, the
projection runner and the gRPC server, and stops each of them. Nothing else constructs these.

    settings ──► Edge (tokens, TLS, metrics) ─┐
                 EventStore + persistence ────┼─► use cases ──► servicers ──► grpc.Server
                 ProjectionRunner ────────────┘
"""
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health

from projections.runner import ProjectionRunner
from service.config import Settings
from service.event_store import EventStore
from service.grpc.edge import Edge
from service.grpc.services import UseCases, build_grpc_server, serving
from service.persistence.invoice_index import InvoiceIndex
from service.persistence.ledger import Ledger
from service.persistence.reseller_index import ResellerIndex
from service.render.pool import RenderPool
from service.usecases.event_feed import EventFeed
from service.usecases.ingest import Ingest
from service.usecases.invoice_queries import InvoiceQueries
from service.usecases.invoicing import Invoicing
from service.usecases.numbering import NumberingAdmin
from service.usecases.projection_admin import ProjectionAdmin
from service.usecases.rendering import Rendering
from service.usecases.resellers import Resellers
from service.usecases.store_audit import StoreAudit
from service.usecases.templates import Templates

INGEST_THREADS = 8  # storing threads; each stream keeps at most one batch in flight
RENDER_WORKERS = 2


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
    ledger, invoice_index = Ledger(store.backend), InvoiceIndex(store.backend)
    resellers = Resellers(store, ResellerIndex(store.backend))
    templates = Templates(store)
    counter_lock = threading.Lock()  # invoice creates and numbering changes share one counter
    return UseCases(
        resellers=resellers,
        ingest=Ingest(ledger, resellers, ingest_writer),
        invoicing=Invoicing(store, ledger, invoice_index, resellers, store.backend.reseller_guard, counter_lock,
                            templates.default_version),
        numbering=NumberingAdmin(store, counter_lock),
        templates=templates,
        rendering=Rendering(store, templates, lambda: RenderPool(max_workers=render_workers)),
        queries=InvoiceQueries(runner),
        feed=EventFeed(store, runner),
        projection_admin=ProjectionAdmin(store, runner),
        store_audit=StoreAudit(store, ledger, invoice_index),
    )


def create_server(settings: Settings) -> System:
    """Open the store and bind the server (port 0 picks a free port); `server.start()` serves."""
    edge = Edge(settings)  # tokens file parsed before the store opens: a bad one stops start-up
    store = EventStore(settings.database)
    runner = ProjectionRunner(store).start()  # follows the log in a background thread
    store.on_saved.append(runner.wake)  # in-process writes: applied within milliseconds
    ingest_writer = ThreadPoolExecutor(max_workers=INGEST_THREADS, thread_name_prefix="ingest")
    use_cases = build_use_cases(store, runner, ingest_writer)
    if settings.warm_render_pool:  # `billing serve`: no request meets a cold render worker
        use_cases.rendering.start_pool()  # returns at once; the workers boot in the background
    server, rpc_executor, health_servicer = build_grpc_server(use_cases, edge.interceptors, settings.workers)
    port = edge.open_ports(server)  # TLS when configured; /metrics when configured
    serving(health_servicer)  # the store is open: serving
    return System(server, port, store, runner, use_cases, health_servicer, edge, [ingest_writer, rpc_executor])
