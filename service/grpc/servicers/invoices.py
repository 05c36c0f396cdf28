"""InvoiceService (ListInvoices/SearchInvoices read the projections: service/grpc/read_models.py)."""
import json

from billing.v1 import invoice_pb2, invoice_pb2_grpc
from service.grpc import read_models
from service.grpc.converters import draft_to_proto, invoice_to_proto, period_from_proto, uuid_from
from service.grpc.errors import mapped
from service.grpc.template_converters import pdf_to_proto


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
        """Newest first from the invoice-list projection; waits for `min_position` first."""
        if not read_models.caught_up(self.app.projections, request.min_position, context):
            return invoice_pb2.ListInvoicesResponse()
        return read_models.list_page(self.app.projections, request)

    @mapped
    def SearchInvoices(self, request, context):
        """Every folded query word a substring of number/name/id/amount/date (SPEC §5)."""
        if not read_models.caught_up(self.app.projections, request.min_position, context):
            return invoice_pb2.SearchInvoicesResponse()
        return read_models.search_page(self.app.projections, request)

    @mapped
    def VoidInvoice(self, request, context):
        invoice, position = self.app.void_invoice(uuid_from(request.invoice_id, "invoice_id"), request.reason)
        return invoice_to_proto(invoice, position)

    @mapped
    def RenderInvoicePdf(self, request, context):
        """The PDF with the invoice's pinned template version; byte-identical on every call."""
        return pdf_to_proto(self.app.templates.render_invoice(uuid_from(request.invoice_id, "invoice_id")))

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
