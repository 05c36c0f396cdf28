"""The gRPC server: every servicer with the use cases it needs, health and reflection."""
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from billing.v1 import (audit_pb2, audit_pb2_grpc, credit_note_pb2, credit_note_pb2_grpc, invoice_pb2,
                        invoice_pb2_grpc, numbering_pb2, numbering_pb2_grpc, payment_pb2, payment_pb2_grpc,
                        projection_pb2, projection_pb2_grpc, reseller_pb2, reseller_pb2_grpc, template_pb2,
                        template_pb2_grpc, usage_pb2, usage_pb2_grpc)
from service.grpc.servicers.audit import AuditServicer
from service.grpc.servicers.credit_notes import CreditNoteServicer
from service.grpc.servicers.invoices import InvoiceServicer
from service.grpc.servicers.numbering import NumberingServicer
from service.grpc.servicers.payments import PaymentServicer
from service.grpc.servicers.projections import ProjectionServicer
from service.grpc.servicers.resellers import ResellerServicer
from service.grpc.servicers.templates import TemplateServicer
from service.grpc.servicers.usage import UsageServicer

MAX_MESSAGE = 8 * 1024 * 1024  # a full 10,000-call batch is ~1.5 MB
FILES = (reseller_pb2, usage_pb2, invoice_pb2, numbering_pb2, template_pb2, audit_pb2, projection_pb2,
         credit_note_pb2, payment_pb2)
SERVICES = [s.full_name for f in FILES for s in f.DESCRIPTOR.services_by_name.values()]


@dataclass
class UseCases:
    """Every use case the servicers call; built by service/bootstrap.py."""

    resellers: object
    ingest: object
    invoicing: object
    numbering: object
    templates: object
    rendering: object
    queries: object
    feed: object
    projection_admin: object
    store_audit: object
    credit_notes: object
    payments: object
    einvoicing: object


def build_grpc_server(uc: UseCases, interceptors: list, workers: int) -> tuple[grpc.Server, futures.Executor,
                                                                                   health.HealthServicer]:
    """The server with every service added (not bound, not started) and its RPC thread pool."""
    executor = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rpc")
    server = grpc.server(executor, interceptors=interceptors, options=[
        ("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ("grpc.so_reuseport", 0)])
    reseller_pb2_grpc.add_ResellerServiceServicer_to_server(ResellerServicer(uc.resellers), server)
    usage_pb2_grpc.add_UsageServiceServicer_to_server(UsageServicer(uc.ingest), server)
    invoice_pb2_grpc.add_InvoiceServiceServicer_to_server(
        InvoiceServicer(uc.invoicing, uc.queries, uc.rendering, uc.feed, uc.einvoicing, uc.credit_notes), server)
    credit_note_pb2_grpc.add_CreditNoteServiceServicer_to_server(
        CreditNoteServicer(uc.credit_notes, uc.queries, uc.rendering, uc.einvoicing), server)
    payment_pb2_grpc.add_PaymentServiceServicer_to_server(PaymentServicer(uc.payments), server)
    numbering_pb2_grpc.add_NumberingServiceServicer_to_server(NumberingServicer(uc.numbering), server)
    template_pb2_grpc.add_TemplateServiceServicer_to_server(TemplateServicer(uc.templates, uc.rendering), server)
    audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(uc.feed, uc.store_audit), server)
    projection_pb2_grpc.add_ProjectionServiceServicer_to_server(ProjectionServicer(uc.projection_admin), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection([*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    return server, executor, health_servicer


def serving(health_servicer: health.HealthServicer, ready: bool = True) -> None:
    """Every service (and the server, "") SERVING, or NOT_SERVING while it warms up."""
    status = health_pb2.HealthCheckResponse.SERVING if ready else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ["", *SERVICES]:
        health_servicer.set(name, status)
