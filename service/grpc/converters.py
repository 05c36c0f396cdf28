"""Protobuf messages ↔ domain objects (the servicers stay thin)."""
from datetime import date
from operator import attrgetter
from uuid import UUID

from google.type import date_pb2

from billing.v1 import (audit_pb2, credit_note_pb2, invoice_pb2, numbering_pb2, payment_pb2, reseller_pb2, types_pb2,
                        usage_pb2)
from domain.calls import CallInput, IncomingCalls
from domain.errors import InvalidArgument
from domain.invoice import Invoice, InvoiceStatus, Totals
from domain.money import format_money, from_units_nanos
from domain.period import Period
from domain.numbering import CREDIT_NOTES, INVOICES, DocumentKind
from domain.receivables import PaymentStatus, outstanding_of, payment_status_of
from domain.reseller import PART_TWO_FIELDS, ResellerTerms, VatCategory

STATUS = {InvoiceStatus.ISSUED: invoice_pb2.INVOICE_STATUS_ISSUED, InvoiceStatus.VOID: invoice_pb2.INVOICE_STATUS_VOID,
          InvoiceStatus.CREDITED: invoice_pb2.INVOICE_STATUS_CREDITED}
PAYMENT_STATUS = {PaymentStatus.UNPAID: invoice_pb2.PAYMENT_STATUS_UNPAID,
                  PaymentStatus.PARTIALLY_PAID: invoice_pb2.PAYMENT_STATUS_PARTIALLY_PAID,
                  PaymentStatus.SETTLED: invoice_pb2.PAYMENT_STATUS_SETTLED, PaymentStatus.NONE: invoice_pb2.PAYMENT_STATUS_NONE}
MAX_PAGE = 500


def date_from_proto(d: date_pb2.Date, field: str) -> date:
    try:
        return date(d.year, d.month, d.day)
    except ValueError:
        raise InvalidArgument(field, f"not a valid date: {d.year:04d}-{d.month:02d}-{d.day:02d}") from None


def date_to_proto(d: date | str) -> date_pb2.Date:
    d = date.fromisoformat(d) if isinstance(d, str) else d
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


def period_from_proto(message, field: str = "period") -> Period:
    if not message.HasField("period"):
        raise InvalidArgument(field, "is required")
    p = message.period
    start = date_from_proto(p.start_date, f"{field}.start_date")
    end = date_from_proto(p.end_date, f"{field}.end_date")
    return Period.of(start, end, field)


def period_to_proto(period: dict) -> types_pb2.Period:
    return types_pb2.Period(start_date=date_to_proto(period["start"]), end_date=date_to_proto(period["end"]))


def uuid_from(text: str, field: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise InvalidArgument(field, "not a UUID") from None


def page_size(requested: int) -> int:
    return 50 if requested == 0 else min(requested, MAX_PAGE)


VAT_FROM_PROTO = {reseller_pb2.VAT_CATEGORY_UNSPECIFIED: VatCategory.STANDARD,
                  reseller_pb2.VAT_CATEGORY_STANDARD: VatCategory.STANDARD,
                  reseller_pb2.VAT_CATEGORY_REVERSE_CHARGE: VatCategory.REVERSE_CHARGE}
VAT_TO_PROTO = {VatCategory.STANDARD: reseller_pb2.VAT_CATEGORY_STANDARD,
                VatCategory.REVERSE_CHARGE: reseller_pb2.VAT_CATEGORY_REVERSE_CHARGE}


def terms_from_proto(r: reseller_pb2.Reseller) -> ResellerTerms:
    """The reseller in the message on its own (absent Part II fields take their defaults)."""
    base, present = reseller_fields_from_proto(r)
    return ResellerTerms.parse(**base, **present)


def reseller_fields_from_proto(r: reseller_pb2.Reseller) -> tuple[dict, dict]:
    """(the first release's fields, the Part II fields present in the message): an absent Part II
    field keeps its stored value (SPEC Part II)."""
    base = dict(reseller_id=r.reseller_id, name=r.name, currency=r.currency, time_zone=r.time_zone,
                tax_rate=r.tax_rate, address_lines=list(r.address_lines), tax_id=r.tax_id, email=r.email)
    present = {name: getattr(r, name) for name in PART_TWO_FIELDS if r.HasField(name)}
    if "vat_category" in present:
        if present["vat_category"] not in VAT_FROM_PROTO:
            raise InvalidArgument("vat_category", f"unknown VAT category {present['vat_category']}")
        present["vat_category"] = VAT_FROM_PROTO[present["vat_category"]]
    return base, present


def terms_to_proto(terms: ResellerTerms | dict, position: int = 0) -> reseller_pb2.Reseller:
    t = terms if isinstance(terms, ResellerTerms) else ResellerTerms.from_dict(terms)
    return reseller_pb2.Reseller(
        reseller_id=t.reseller_id, name=t.name, address_lines=list(t.address_lines), tax_id=t.tax_id,
        email=t.email, currency=t.currency, time_zone=t.time_zone, tax_rate=t.tax_rate, position=position,
        country_code=t.country_code, postal_code=t.postal_code, city=t.city,
        vat_category=VAT_TO_PROTO[t.vat_category], payment_terms_days=t.payment_terms_days,
        invoice_series_id=t.invoice_series_id or INVOICES, credit_note_series_id=t.credit_note_series_id or CREDIT_NOTES)


def lines_to_proto(lines: list[dict]) -> list[invoice_pb2.InvoiceLine]:
    return [invoice_pb2.InvoiceLine(**line) for line in lines]


def draft_to_proto(reseller_id: str, period: Period, terms: ResellerTerms, totals: Totals) -> invoice_pb2.InvoiceDraft:
    return invoice_pb2.InvoiceDraft(
        reseller_id=reseller_id, period=period_to_proto(period.as_dict()), bill_to=terms_to_proto(terms),
        currency=terms.currency, lines=lines_to_proto(totals.lines), subtotal=totals.subtotal,
        tax_rate=totals.tax_rate, tax=totals.tax, total=totals.total)


def invoice_to_proto(inv: Invoice, position: int) -> invoice_pb2.Invoice:
    """An Invoice aggregate (or a read-model document viewed as one) as the wire Invoice."""
    void = inv.status == InvoiceStatus.VOID
    outstanding = outstanding_of(void, inv.total, inv.credited_total, inv.paid_total)
    message = invoice_pb2.Invoice(
        invoice_id=str(inv.id), number=inv.number, reseller_id=inv.reseller_id, status=STATUS[inv.status],
        period=period_to_proto(inv.period), bill_to=terms_to_proto(inv.bill_to), currency=inv.currency,
        lines=lines_to_proto(inv.lines), subtotal=inv.subtotal, tax_rate=inv.tax_rate, tax=inv.tax,
        total=inv.total, template_version=inv.template_version, position=position, void_reason=inv.void_reason,
        series_id=inv.series_id, credited_total=inv.credited_total, paid_total=inv.paid_total,
        outstanding=format_money(outstanding, inv.currency),
        payment_status=PAYMENT_STATUS[payment_status_of(void, outstanding, inv.paid_total)])
    message.issued_at.FromDatetime(inv.issued_at)
    if inv.due_date:
        message.due_date.CopyFrom(date_to_proto(inv.due_date))
    return message


def credit_note_to_proto(note, position: int) -> credit_note_pb2.CreditNote:
    message = credit_note_pb2.CreditNote(
        credit_note_id=str(note.id), number=note.number, series_id=note.series_id, invoice_id=note.invoice_id,
        invoice_number=note.invoice_number, reseller_id=note.reseller_id, reason=note.reason,
        bill_to=terms_to_proto(note.bill_to), currency=note.currency,
        lines=[credit_note_pb2.CreditNoteLine(**line) for line in note.lines], subtotal=note.subtotal,
        tax_rate=note.tax_rate, tax=note.tax, total=note.total, template_version=note.template_version,
        position=position)
    message.issued_at.FromDatetime(note.issued_at)
    return message


def numbering_to_proto(numbering, position: int) -> numbering_pb2.Numbering:
    return numbering_pb2.Numbering(pattern=numbering.pattern, next_number=numbering.next_number, position=position)


KIND_TO_PROTO = {DocumentKind.INVOICE: numbering_pb2.DOCUMENT_KIND_INVOICE,
                 DocumentKind.CREDIT_NOTE: numbering_pb2.DOCUMENT_KIND_CREDIT_NOTE}
KIND_FROM_PROTO = {v: k for k, v in KIND_TO_PROTO.items()}


def kind_from_proto(kind: int) -> str:
    if kind not in KIND_FROM_PROTO:
        raise InvalidArgument("kind", "want DOCUMENT_KIND_INVOICE or DOCUMENT_KIND_CREDIT_NOTE")
    return KIND_FROM_PROTO[kind]


def series_to_proto(view) -> numbering_pb2.NumberingSeries:
    return numbering_pb2.NumberingSeries(series_id=view.series_id, kind=KIND_TO_PROTO[view.kind], pattern=view.pattern,
                                         next_number=view.next_number, position=view.position)


# CallInput's fields, in its order, read from a wire Call
_CALL_FIELDS = attrgetter("call_id", "reseller_id", "started_at.seconds", "started_at.nanos", "billed_seconds",
                          "destination", "destination_group", "amount", "currency")
_STARTED_S = CallInput._fields.index("started_s")


def calls_from_proto(calls) -> IncomingCalls:
    """Wire calls as one column-wise batch (the ingest hot path: C loops, no Python code per call).

    An unset started_at reads as 0 s, so only the calls at 0 s are asked whether they have one;
    those without get started_s None."""
    columns = list(zip(*map(_CALL_FIELDS, calls)))
    if columns and 0 in columns[_STARTED_S]:
        columns[_STARTED_S] = tuple(None if s == 0 and not c.HasField("started_at") else s
                                    for s, c in zip(columns[_STARTED_S], calls))
    return IncomingCalls(columns, len(calls))


def event_to_proto(record) -> audit_pb2.Event:
    """A service.usecases.event_feed.EventRecord as the wire Event."""
    message = audit_pb2.Event(position=record.position, originator_id=record.originator_id,
                              originator_version=record.originator_version, topic=record.topic,
                              payload_json=record.payload_json)
    message.timestamp.FromDatetime(record.timestamp)
    return message


def usage_totals_to_proto(sums: list[int], currency: str) -> usage_pb2.UsageTotals:
    calls, seconds, units, nanos = sums
    return usage_pb2.UsageTotals(calls=calls, billed_seconds=seconds,
                                 amount=format_money(from_units_nanos(units, nanos), currency))


FACTURX = "FACTURX"
PDF_FORMATS = {types_pb2.PDF_FORMAT_UNSPECIFIED: "PLAIN", types_pb2.PDF_FORMAT_PLAIN: "PLAIN",
               types_pb2.PDF_FORMAT_FACTURX: FACTURX}
XML_SYNTAXES = {types_pb2.XML_SYNTAX_CII: "CII", types_pb2.XML_SYNTAX_UBL: "UBL"}


def pdf_format(value: int) -> str:
    if value not in PDF_FORMATS:
        raise InvalidArgument("format", f"unknown PDF format {value}")
    return PDF_FORMATS[value]


def xml_syntax(value: int) -> str:
    if value not in XML_SYNTAXES:
        raise InvalidArgument("syntax", "want XML_SYNTAX_CII or XML_SYNTAX_UBL")
    return XML_SYNTAXES[value]


def xml_to_proto(xml) -> types_pb2.XmlDocument:
    return types_pb2.XmlDocument(content=xml.content, filename=xml.filename, sha256=xml.sha256)


def payment_to_proto(view) -> payment_pb2.Payment:
    return payment_pb2.Payment(payment_id=view.payment_id, invoice_id=view.invoice_id, reseller_id=view.reseller_id,
                               amount=view.amount, currency=view.currency, received_on=date_to_proto(view.received_on),
                               reference=view.reference, position=view.position)
