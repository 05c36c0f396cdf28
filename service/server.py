"""Composition root: build the application and the gRPC server; run it until SIGTERM/SIGINT."""
import logging
import signal
import threading
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from billing.v1 import (audit_pb2, invoice_pb2, invoice_pb2_grpc, numbering_pb2, numbering_pb2_grpc,
                        reseller_pb2, reseller_pb2_grpc, template_pb2, usage_pb2, usage_pb2_grpc)
from billing.v1 import audit_pb2_grpc, template_pb2_grpc
from projections.runner import ProjectionRunner
from service.application import BillingApplication
from service.config import Settings
from service.grpc.edge import Edge
from service.grpc.servicers.audit import AuditServicer
from service.grpc.servicers.invoices import InvoiceServicer
from service.grpc.servicers.numbering import NumberingServicer
from service.grpc.servicers.resellers import ResellerServicer
from service.grpc.servicers.usage import UsageServicer
from service.grpc.servicers.templates import TemplateServicer
from service.templates import TemplateBook

log = logging.getLogger("billing.server")
MAX_MESSAGE = 8 * 1024 * 1024  # a full 10,000-call batch is ~1.5 MB
SERVICES = [d.services_by_name[n].full_name for d, n in (
    (reseller_pb2.DESCRIPTOR, "ResellerService"), (usage_pb2.DESCRIPTOR, "UsageService"),
    (invoice_pb2.DESCRIPTOR, "InvoiceService"), (numbering_pb2.DESCRIPTOR, "NumberingService"),
    (template_pb2.DESCRIPTOR, "TemplateService"), (audit_pb2.DESCRIPTOR, "AuditService"))]


@dataclass
class Running:
    server: grpc.Server
    port: int
    app: BillingApplication
    health: health.HealthServicer
    edge: Any = None  # service.grpc.edge.Edge: tokens, metrics

    def stop(self, grace: float | None = None) -> None:
        self.health.enter_graceful_shutdown()
        self.app.projections.close_streams()  # following audit streams end now, not at the grace's end
        self.server.stop(grace).wait()
        self.app.projections.stop()
        if self.app.templates is not None:
            self.app.templates.close()  # stop the render workers
        self.app.close()
        if self.edge:
            self.edge.close()


def create_server(settings: Settings) -> Running:
    """Open the store and bind the server (port 0 picks a free port); not started yet."""
    edge = Edge(settings)  # tokens file parsed before the store opens: a bad one stops start-up
    app = BillingApplication(settings.database)
    app.projections = ProjectionRunner(app).start()  # follows the log in a background thread
    app.on_saved.append(app.projections.wake)  # in-process writes: applied within milliseconds
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=settings.workers),
                         interceptors=edge.interceptors, options=[
        ("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ("grpc.so_reuseport", 0)])
    reseller_pb2_grpc.add_ResellerServiceServicer_to_server(ResellerServicer(app), server)
    usage_pb2_grpc.add_UsageServiceServicer_to_server(UsageServicer(app), server)
    invoice_pb2_grpc.add_InvoiceServiceServicer_to_server(InvoiceServicer(app), server)
    numbering_pb2_grpc.add_NumberingServiceServicer_to_server(NumberingServicer(app), server)
    audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(app), server)
    app.templates = TemplateBook(app)  # owns the one render pool, started on the first render
    template_pb2_grpc.add_TemplateServiceServicer_to_server(TemplateServicer(app.templates), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection([*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    port = edge.open_ports(server)  # TLS when configured; /metrics when configured
    for name in ["", *SERVICES]:  # the store is open: serving
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return Running(server, port, app, health_servicer, edge)


def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT, then drain in-flight RPCs for the grace period and return 0."""
    running = create_server(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # before serving: a signal never meets the default handler
        signal.signal(sig, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: running.edge.reload_tokens())  # re-read the tokens file
    running.server.start()
    log.info("serving on %s (database: %s; %s)", settings.listen, settings.database.kind, running.edge.describe())
    if not settings.tokens_file:
        log.warning("authentication is off (no tokens file); serving on loopback only")
    stop.wait()
    log.info("shutting down: draining in-flight RPCs for up to %.1f s", settings.grace_seconds)
    running.stop(settings.grace_seconds)
    log.info("stopped")
    return 0
