"""InvoiceService: convert, call the invoicing / query / rendering / feed use case, convert back."""
from billing.v1 import invoice_pb2, invoice_pb2_grpc
from service.grpc import read_models
from domain.errors import InvalidArgument
from service.grpc.converters import (FACTURX, draft_to_proto, invoice_to_proto, pdf_format, period_from_proto,
                                     uuid_from, xml_syntax, xml_to_proto)
from service.grpc.errors import mapped
from service.grpc.template_converters import pdf_to_proto
from service.usecases.credit_notes import CreditNotes
from service.usecases.einvoicing import EInvoicing
from service.usecases.event_feed import EventFeed
from service.usecases.invoice_queries import InvoiceQueries
from service.usecases.invoicing import Invoicing
from service.usecases.rendering import Rendering


class InvoiceServicer(invoice_pb2_grpc.InvoiceServiceServicer):
    def __init__(self, invoicing: Invoicing, queries: InvoiceQueries, rendering: Rendering, feed: EventFeed,
                 einvoicing: EInvoicing, credit_notes: CreditNotes):
        self.invoicing = invoicing
        self.queries = queries
        self.rendering = rendering
        self.feed = feed
        self.einvoicing = einvoicing
        self.credit_notes = credit_notes

    @mapped
    def CalculateInvoice(self, request, context):
        period = period_from_proto(request)
        reseller, totals = self.invoicing.calculate(request.reseller_id, period)
        return draft_to_proto(request.reseller_id, period, reseller.terms, totals)

    @mapped
    def CreateInvoice(self, request, context):
        period = period_from_proto(request)
        return invoice_to_proto(*self.invoicing.create(request.reseller_id, period, request.request_id))

    @mapped
    def GetInvoice(self, request, context):
        if request.WhichOneof("key") == "number":
            invoice_id = self.invoicing.id_by_number(request.number)
        else:
            invoice_id = uuid_from(request.invoice_id, "invoice_id")
        return invoice_to_proto(*self.invoicing.get(invoice_id, request.version or None))

    @mapped
    def ListInvoices(self, request, context):
        """Newest first from the invoice-list projection; waits for `min_position` first."""
        if not read_models.caught_up(self.queries, request.min_position, context):
            return invoice_pb2.ListInvoicesResponse()
        return read_models.list_page(self.queries, request)

    @mapped
    def SearchInvoices(self, request, context):
        """Every folded query word a substring of number/name/id/amount/date (SPEC §5)."""
        if not read_models.caught_up(self.queries, request.min_position, context):
            return invoice_pb2.SearchInvoicesResponse()
        return read_models.search_page(self.queries, request)

    @mapped
    def VoidInvoice(self, request, context):
        return invoice_to_proto(*self.invoicing.void(uuid_from(request.invoice_id, "invoice_id"), request.reason))

    @mapped
    def RenderInvoicePdf(self, request, context):
        """The PDF with the invoice's pinned template version; byte-identical on every call."""
        invoice, _ = self.invoicing.get(uuid_from(request.invoice_id, "invoice_id"))
        if pdf_format(request.format) == FACTURX:
            return pdf_to_proto(self.einvoicing.facturx(invoice))
        return pdf_to_proto(self.rendering.render_invoice(invoice))

    @mapped
    def ExportDocumentXml(self, request, context):
        """The invoice's or credit note's EN 16931 XML (CII or UBL)."""
        if request.WhichOneof("document") == "credit_note_id":
            document, _ = self.credit_notes.get(uuid_from(request.credit_note_id, "credit_note_id"))
        elif request.WhichOneof("document") == "invoice_id":
            document, _ = self.invoicing.get(uuid_from(request.invoice_id, "invoice_id"))
        else:
            raise InvalidArgument("document", "set invoice_id or credit_note_id")
        return xml_to_proto(self.einvoicing.xml(document, xml_syntax(request.syntax)))

    @mapped
    def GetInvoiceHistory(self, request, context):
        invoice_id = uuid_from(request.invoice_id, "invoice_id")
        history = invoice_pb2.InvoiceHistory(invoice_id=str(invoice_id))
        for record in self.feed.history(invoice_id, f"invoice {invoice_id}"):
            item = history.events.add(version=record.originator_version, type=record.type_name,
                                      payload_json=record.payload_json)
            item.timestamp.FromDatetime(record.timestamp)
        return history
