"""What this release of the API offers, decided once from the descriptors: the one place to add a button.

A feature is on when every RPC, field and enum value it needs exists in the generated
`billing.v1` stubs. Templates ask `features.record_payment` etc.; a later release that adds
`PaymentService.RecordPayment` turns the button on without touching any page.
"""
from dataclasses import dataclass, field

from service.console.api import Catalog


@dataclass(frozen=True)
class Need:
    """Requirements of one feature: RPCs (Service.Method), fields (Message.field), enum values."""
    rpcs: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    enums: tuple[tuple[str, str, str], ...] = ()  # (message, field, VALUE_NAME)

    def met(self, catalog: Catalog) -> bool:
        return (all(catalog.has(*r.split(".")) for r in self.rpcs)
                and all(catalog.has_field(*f.split(".")) for f in self.fields)
                and all(catalog.enum_value(*e) is not None for e in self.enums))


NEEDS: dict[str, Need] = {
    # invoice page actions
    "facturx_pdf": Need(("InvoiceService.RenderInvoicePdf",), enums=(
        ("RenderInvoicePdfRequest", "format", "PDF_FORMAT_FACTURX"),)),
    "ubl_xml": Need(("InvoiceService.ExportDocumentXml",), enums=(
        ("ExportDocumentXmlRequest", "syntax", "XML_SYNTAX_UBL"),)),
    "cii_xml": Need(("InvoiceService.ExportDocumentXml",), enums=(
        ("ExportDocumentXmlRequest", "syntax", "XML_SYNTAX_CII"),)),
    "record_payment": Need(("PaymentService.RecordPayment",)),
    "record_refund": Need(("PaymentService.RecordRefund",)),
    "list_payments": Need(("PaymentService.ListPayments",)),
    "credit_note": Need(("CreditNoteService.IssueCreditNote",)),
    "list_credit_notes": Need(("CreditNoteService.ListCreditNotes",)),
    "credit_note_pdf": Need(("CreditNoteService.RenderCreditNotePdf",)),
    "credit_note_facturx": Need(("CreditNoteService.RenderCreditNotePdf",), enums=(
        ("RenderCreditNotePdfRequest", "format", "PDF_FORMAT_FACTURX"),)),
    "credit_note_xml": Need(("InvoiceService.ExportDocumentXml",), fields=("ExportDocumentXmlRequest.credit_note_id",)),
    # columns that appear with later releases
    "payment_status": Need(fields=("Invoice.payment_status",)),
    "due_date": Need(fields=("Invoice.due_date",)),
    "outstanding": Need(fields=("Invoice.outstanding",)),
    "payment_filter": Need(fields=("ListInvoicesRequest.payment_status", "SearchInvoicesRequest.payment_status")),
    "overdue_filter": Need(fields=("ListInvoicesRequest.overdue_on", "SearchInvoicesRequest.overdue_on")),
    # reseller tabs and settings
    "statement": Need(("PaymentService.GetResellerStatement",)),
    "series": Need(("NumberingService.ListSeries",)),
    "upsert_series": Need(("NumberingService.UpsertSeries",)),
    "list_events": Need(("AuditService.ListEvents",)),
}


@dataclass(frozen=True)
class Features:
    """Attribute access to the features that are on: `features.record_payment` is True or False."""
    on: frozenset = field(default_factory=frozenset)

    @classmethod
    def detect(cls, catalog: Catalog) -> "Features":
        return cls(frozenset(name for name, need in NEEDS.items() if need.met(catalog)))

    def __getattr__(self, name: str) -> bool:
        if name not in NEEDS:
            raise AttributeError(name)
        return name in self.on
