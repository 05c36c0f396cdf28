"""The Invoice aggregate, its line and total arithmetic, and the per-reseller invoice book."""
from dataclasses import dataclass
from typing import NamedTuple
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import FailedPrecondition
from domain.money import format_money, from_units_nanos, round_money
from domain.period import Period
from domain.reseller import NAMESPACE


class InvoiceStatus:
    """The stored status words (in events' state and in the index/read-model tables)."""

    ISSUED = "ISSUED"
    VOID = "VOID"


class UsageRow(NamedTuple):
    """Summed calls of one destination group (amount kept exact as units + nanos)."""

    destination_group: str
    calls: int
    billed_seconds: int
    amount_units: int
    amount_nanos: int


@dataclass(frozen=True)
class Totals:
    lines: list[dict]
    subtotal: str
    tax_rate: str
    tax: str
    total: str


def compute_totals(rows: list[UsageRow], currency: str, tax_rate: str) -> Totals:
    """SPEC §5: line = round(sum of calls); subtotal = sum of lines; tax = round(subtotal × rate)."""
    lines, subtotal = [], Decimal(0)
    for row in sorted(rows, key=lambda r: r.destination_group):
        amount = round_money(from_units_nanos(row.amount_units, row.amount_nanos), currency)
        subtotal += amount
        lines.append({"destination_group": row.destination_group, "calls": row.calls,
                      "billed_seconds": row.billed_seconds, "amount": format_money(amount, currency)})
    tax = round_money(subtotal * Decimal(tax_rate), currency)
    return Totals(lines, format_money(subtotal, currency), tax_rate,
                  format_money(tax, currency), format_money(subtotal + tax, currency))


def invoice_uuid(invoice_key: str) -> UUID:
    return uuid5(NAMESPACE, "invoice:" + invoice_key)


class Invoice(Aggregate):
    """An issued invoice. Its content never changes; only its status can become VOID."""

    @staticmethod
    def create_id(invoice_key: str) -> UUID:
        return invoice_uuid(invoice_key)

    @event("Issued")
    def __init__(self, invoice_key: str, request_id: str, sequence: int, number: str,
                 reseller_id: str, period: dict, issued_at: datetime, issue_date: str,
                 bill_to: dict, currency: str,
                 lines: list, subtotal: str, tax_rate: str, tax: str, total: str,
                 template_version: int, covers_through: int):
        self.invoice_key = invoice_key
        self.request_id = request_id
        self.sequence = sequence
        self.number = number
        self.reseller_id = reseller_id
        self.period = period
        self.issued_at = issued_at
        self.issue_date = issue_date
        self.bill_to = bill_to
        self.currency = currency
        self.lines = lines
        self.subtotal, self.tax_rate, self.tax, self.total = subtotal, tax_rate, tax, total
        self.template_version = template_version
        # The reseller's call-batch watermark: the invoice covers the calls of its
        # period stored in batches up to this one (later ones are late for it).
        self.covers_through = covers_through
        self.status = InvoiceStatus.ISSUED
        self.void_reason = ""

    @event("Voided")
    def _void(self, reason: str) -> None:
        self.status = InvoiceStatus.VOID
        self.void_reason = reason

    def void(self, reason: str) -> None:
        if self.status == InvoiceStatus.VOID:
            raise FailedPrecondition(f"invoice {self.number} is already void")
        self._void(reason)

    def same_request(self, reseller_id: str, period: Period) -> bool:
        return self.reseller_id == reseller_id and Period.from_dict(self.period) == period


class InvoiceBook(Aggregate):
    """The non-void invoice periods of one reseller; saving it serialises overlapping creates."""

    @staticmethod
    def create_id(reseller_id: str) -> UUID:
        return uuid5(NAMESPACE, "invoice-book:" + reseller_id)

    @event("Opened")
    def __init__(self, reseller_id: str):
        self.reseller_id = reseller_id
        self.active: dict[str, list[str]] = {}

    @event("PeriodClaimed")
    def _claim(self, invoice_id: str, number: str, start: str, end: str) -> None:
        self.active[invoice_id] = [start, end, number]

    @event("PeriodReleased")
    def _release(self, invoice_id: str) -> None:
        self.active.pop(invoice_id, None)

    def claim(self, invoice_id: str, number: str, period: Period) -> None:
        for start, end, other_number in self.active.values():
            if Period.from_dict({"start": start, "end": end}).overlaps(period):
                raise FailedPrecondition(
                    f"period overlaps invoice {other_number} ({start}..{end}); void it first")
        self._claim(invoice_id, number, period.start.isoformat(), period.end.isoformat())

    def release(self, invoice_id: str) -> None:
        self._release(invoice_id)
