"""Protobuf messages ↔ domain objects (the servicers stay thin)."""
from datetime import date
from operator import attrgetter
from uuid import UUID

from google.type import date_pb2

from billing.v1 import audit_pb2, invoice_pb2, numbering_pb2, reseller_pb2, types_pb2, usage_pb2
from domain.calls import CallInput, IncomingCalls
from domain.errors import InvalidArgument
from domain.invoice import Invoice, InvoiceStatus, Totals
from domain.money import format_money, from_units_nanos
from domain.period import Period
from domain.reseller import ResellerTerms

STATUS = {InvoiceStatus.ISSUED: invoice_pb2.INVOICE_STATUS_ISSUED, InvoiceStatus.VOID: invoice_pb2.INVOICE_STATUS_VOID}
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


def terms_from_proto(r: reseller_pb2.Reseller) -> ResellerTerms:
    return ResellerTerms.parse(reseller_id=r.reseller_id, name=r.name, currency=r.currency,
                               time_zone=r.time_zone, tax_rate=r.tax_rate, address_lines=list(r.address_lines),
                               tax_id=r.tax_id, email=r.email)


def terms_to_proto(terms: ResellerTerms | dict, position: int = 0) -> reseller_pb2.Reseller:
    t = terms if isinstance(terms, ResellerTerms) else ResellerTerms.from_dict(terms)
    return reseller_pb2.Reseller(reseller_id=t.reseller_id, name=t.name, address_lines=list(t.address_lines),
                                 tax_id=t.tax_id, email=t.email, currency=t.currency, time_zone=t.time_zone,
                                 tax_rate=t.tax_rate, position=position)


def lines_to_proto(lines: list[dict]) -> list[invoice_pb2.InvoiceLine]:
    return [invoice_pb2.InvoiceLine(**line) for line in lines]


def draft_to_proto(reseller_id: str, period: Period, terms: ResellerTerms, totals: Totals) -> invoice_pb2.InvoiceDraft:
    return invoice_pb2.InvoiceDraft(
        reseller_id=reseller_id, period=period_to_proto(period.as_dict()), bill_to=terms_to_proto(terms),
        currency=terms.currency, lines=lines_to_proto(totals.lines), subtotal=totals.subtotal,
        tax_rate=totals.tax_rate, tax=totals.tax, total=totals.total)


def invoice_to_proto(inv: Invoice, position: int) -> invoice_pb2.Invoice:
    message = invoice_pb2.Invoice(
        invoice_id=str(inv.id), number=inv.number, reseller_id=inv.reseller_id, status=STATUS[inv.status],
        period=period_to_proto(inv.period), bill_to=terms_to_proto(inv.bill_to), currency=inv.currency,
        lines=lines_to_proto(inv.lines), subtotal=inv.subtotal, tax_rate=inv.tax_rate, tax=inv.tax,
        total=inv.total, template_version=inv.template_version, position=position, void_reason=inv.void_reason)
    message.issued_at.FromDatetime(inv.issued_at)
    return message


def numbering_to_proto(numbering, position: int) -> numbering_pb2.Numbering:
    return numbering_pb2.Numbering(pattern=numbering.pattern, next_number=numbering.next_number, position=position)


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
