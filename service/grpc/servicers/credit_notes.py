"""CreditNoteService (SPEC §13): issue, read, list and render credit notes."""
from billing.v1 import credit_note_pb2, credit_note_pb2_grpc
from service.grpc import read_models
from service.grpc.converters import FACTURX, credit_note_to_proto, pdf_format, uuid_from
from service.grpc.errors import mapped
from service.grpc.template_converters import pdf_to_proto
from service.usecases.credit_notes import CreditNotes
from service.usecases.einvoicing import EInvoicing
from service.usecases.invoice_queries import InvoiceQueries
from service.usecases.rendering import Rendering


class CreditNoteServicer(credit_note_pb2_grpc.CreditNoteServiceServicer):
    def __init__(self, credit_notes: CreditNotes, queries: InvoiceQueries, rendering: Rendering,
                 einvoicing: EInvoicing):
        self.credit_notes = credit_notes
        self.queries = queries
        self.rendering = rendering
        self.einvoicing = einvoicing

    @mapped
    def IssueCreditNote(self, request, context):
        lines = [(line.destination_group, line.amount) for line in request.lines]
        note, position = self.credit_notes.issue(uuid_from(request.invoice_id, "invoice_id"), request.reason, lines,
                                                 request.request_id)
        return credit_note_to_proto(note, position)

    @mapped
    def GetCreditNote(self, request, context):
        if request.WhichOneof("key") == "number":
            note_id = self.credit_notes.id_by_number(request.number)
        else:
            note_id = uuid_from(request.credit_note_id, "credit_note_id")
        return credit_note_to_proto(*self.credit_notes.get(note_id))

    @mapped
    def ListCreditNotes(self, request, context):
        """Newest first, of a reseller and/or an invoice; waits for `min_position` first."""
        if not read_models.caught_up(self.queries, request.min_position, context):
            return credit_note_pb2.ListCreditNotesResponse()
        invoice_id = str(uuid_from(request.invoice_id, "invoice_id")) if request.invoice_id else ""
        read_models.check_reseller_id(request.reseller_id)
        notes, token = read_models.page(request, lambda before, limit: self.queries.credit_notes(
            request.reseller_id, invoice_id, before, limit), read_models.note_doc_to_proto)
        return credit_note_pb2.ListCreditNotesResponse(credit_notes=notes, next_page_token=token)

    @mapped
    def RenderCreditNotePdf(self, request, context):
        note, _ = self.credit_notes.get(uuid_from(request.credit_note_id, "credit_note_id"))
        if pdf_format(request.format) == FACTURX:
            return pdf_to_proto(self.einvoicing.facturx(note))
        return pdf_to_proto(self.rendering.render_credit_note(note))
