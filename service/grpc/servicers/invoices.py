"""InvoiceService (list/search read from the invoice index until the projections take over)."""
import json

from billing.v1 import invoice_pb2, invoice_pb2_grpc
from service.grpc import paging
from service.grpc.converters import (draft_to_proto, invoice_to_proto, page_size, period_from_proto,
                                     uuid_from)
from service.grpc.errors import mapped


class InvoiceServicer(invoice_pb2_grpc.InvoiceServiceServicer):
    def __init__(self, app):
        self.app = app

    @mapped
    def CalculateInvoice(self, request, context):
        period = period_from_proto(request)
        reseller, totals = self.app.calculate(request.reseller_id, period)
        return draft_to_proto(request.reseller_id, period, reseller.terms, totals)

    @mapped
    def CreateInvoice(self, request, context):
        period = period_from_proto(request)
        invoice, position = self.app.create_invoice(request.reseller_id, period, request.request_id)
        return invoice_to_proto(invoice, position)

    @mapped
    def GetInvoice(self, request, context):
        if request.WhichOneof("key") == "number":
            invoice_id = self.app.invoice_id_by_number(request.number)
        else:
            invoice_id = uuid_from(request.invoice_id, "invoice_id")
        invoice = self.app.get_invoice(invoice_id, request.version or None)
        return invoice_to_proto(invoice, self.app.position_of(invoice_id))

    @mapped
    def ListInvoices(self, request, context):
        size = page_size(request.page_size)
        cursor = paging.decode(request.page_token, ("before",)) or {"before": 2**62}
        found = self.app.list_invoice_ids(request.reseller_id, cursor["before"], size + 1)
        page = found[:size]
        token = paging.encode({"before": page[-1][1]}) if len(found) > size else ""
        invoices = [invoice_to_proto(self.app.get_invoice(i), self.app.position_of(i)) for i, _ in page]
        return invoice_pb2.ListInvoicesResponse(invoices=invoices, next_page_token=token)

    @mapped
    def VoidInvoice(self, request, context):
        invoice, position = self.app.void_invoice(uuid_from(request.invoice_id, "invoice_id"), request.reason)
        return invoice_to_proto(invoice, position)

    @mapped
    def GetInvoiceHistory(self, request, context):
        invoice_id = uuid_from(request.invoice_id, "invoice_id")
        history = invoice_pb2.InvoiceHistory(invoice_id=str(invoice_id))
        for event in self.app.invoice_history(invoice_id):
            item = history.events.add(version=event.originator_version, type=type(event).__qualname__,
                                      payload_json=json.dumps(event_payload(event), default=str, sort_keys=True))
            item.timestamp.FromDatetime(event.timestamp)
        return history


def event_payload(event) -> dict:
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return {k: v for k, v in vars(event).items() if k not in skip}
