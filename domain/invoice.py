"""The Invoice aggregate, its line and total arithmetic, and the per-reseller invoice book.

An issued invoice's content never changes. Events after `Issued`: `Voided` (never sent, never
paid or credited), `Credited` (a credit note took part or all of it, SPEC §13) and
`PaymentRecorded` (money received, or refunded as a negative amount, SPEC §14).
"""
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from operator import itemgetter
from typing import NamedTuple
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import FailedPrecondition
from domain.ids import NAMESPACE
from domain.money import format_money, from_units_nanos, round_money
from domain.numbering import INVOICES
from domain.period import Period
from domain.receivables import CreditPlan, PaymentStatus, outstanding_of, payment_status_of

BUILTIN_REVISION_BEFORE_PART_TWO = 1  # what invoices issued by the first release render with


class InvoiceStatus:
    """The stored status words (in events' state and in the index/read-model tables)."""

    ISSUED = "ISSUED"
    VOID = "VOID"
    CREDITED = "CREDITED"  # its whole total is credited; the period is free again


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
    for group, calls, seconds, units, nanos in sorted(rows, key=itemgetter(0)):  # by destination group
        amount = round_money(from_units_nanos(units, nanos), currency)
        subtotal += amount
        lines.append({"destination_group": group, "calls": calls, "billed_seconds": seconds,
                      "amount": f"{amount:f}"})  # already rounded: format_money's digits
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
                 template_version: int, covers_through: int, series_id: str = INVOICES, due_date: str = "",
                 builtin_revision: int = BUILTIN_REVISION_BEFORE_PART_TWO):
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
        self.series_id = series_id or INVOICES
        self.due_date = due_date  # "" for invoices issued before due dates existed
        self.builtin_revision = builtin_revision  # the built-in template's revision, when version 0
        self.status = InvoiceStatus.ISSUED
        self.void_reason = ""
        self.credited_lines: dict[str, str] = {}  # destination group -> amount credited so far
        self.credited_tax = format_money(Decimal(0), currency)
        self.credited_total = format_money(Decimal(0), currency)
        self.credits: list[dict] = []  # {credit_note_id, number, issue_date, total}
        self.paid_total = format_money(Decimal(0), currency)
        self.payments: list[dict] = []  # {payment_id, amount, received_on, reference}

    # ---- void ---------------------------------------------------------------------------
    @event("Voided")
    def _void(self, reason: str) -> None:
        self.status = InvoiceStatus.VOID
        self.void_reason = reason

    def void(self, reason: str) -> None:
        if self.status == InvoiceStatus.VOID:
            raise FailedPrecondition(f"invoice {self.number} is already void")
        if self.credits:
            raise FailedPrecondition(f"invoice {self.number} has credit notes; it cannot be voided "
                                     "(issue a credit note for the rest instead)")
        if self.payments:
            raise FailedPrecondition(f"invoice {self.number} has payments; it cannot be voided "
                                     "(void is for invoices never paid nor credited; issue a credit note)")
        self._void(reason)

    # ---- credit notes (SPEC §13) --------------------------------------------------------
    def plan_credit(self, requested: list[tuple[str, str]]) -> CreditPlan:
        """What a credit note for `requested` [(group, amount)] would credit ([] = everything left)."""
        self._require_active("credited")
        return CreditPlan.of(self.lines, self.credited_lines, self.tax_rate, self.tax, self.credited_tax,
                             self.currency, requested, self.number)

    @event("Credited")
    def _credit(self, credit_note_id: str, number: str, issue_date: str, lines: list, subtotal: str, tax: str,
                total: str, completes: bool) -> None:
        for line in lines:
            group = line["destination_group"]
            before = Decimal(self.credited_lines.get(group, "0"))
            self.credited_lines[group] = format_money(before + Decimal(line["amount"]), self.currency)
        self.credited_tax = format_money(Decimal(self.credited_tax) + Decimal(tax), self.currency)
        self.credited_total = format_money(Decimal(self.credited_total) + Decimal(total), self.currency)
        self.credits.append({"credit_note_id": credit_note_id, "number": number, "issue_date": issue_date,
                             "total": total})
        if completes:
            self.status = InvoiceStatus.CREDITED

    def credit(self, credit_note_id: str, number: str, issue_date: date, plan: CreditPlan) -> None:
        self._credit(credit_note_id, number, issue_date.isoformat(), plan.lines, plan.subtotal, plan.tax,
                     plan.total, plan.completes)

    # ---- payments (SPEC §14) ------------------------------------------------------------
    @event("PaymentRecorded")
    def _pay(self, payment_id: str, amount: str, received_on: str, reference: str, request_id: str,
             recorded_at: str) -> None:
        self.paid_total = format_money(Decimal(self.paid_total) + Decimal(amount), self.currency)
        self.payments.append({"payment_id": payment_id, "amount": amount, "received_on": received_on,
                              "reference": reference, "recorded_at": recorded_at})

    def record_payment(self, payment_id: str, amount: Decimal, received_on: date, reference: str,
                       request_id: str) -> None:
        """Money received: 0 < amount <= outstanding, on an active invoice."""
        self._require_active("paid")
        if amount > self.outstanding:
            raise FailedPrecondition(f"amount {format_money(amount, self.currency)} is more than invoice "
                                     f"{self.number} still owes ({format_money(self.outstanding, self.currency)})")
        self._pay(payment_id, format_money(amount, self.currency), received_on.isoformat(), reference, request_id,
                  _now())

    def record_refund(self, payment_id: str, amount: Decimal, refunded_on: date, reference: str,
                      request_id: str) -> None:
        """Money paid back to an overpaid invoice: 0 < amount <= -outstanding."""
        if self.status == InvoiceStatus.VOID:
            raise FailedPrecondition(f"invoice {self.number} is void")
        if amount > -self.outstanding:
            raise FailedPrecondition(f"invoice {self.number} is overpaid by "
                                     f"{format_money(max(-self.outstanding, Decimal(0)), self.currency)}; "
                                     "a refund can be at most that")
        self._pay(payment_id, format_money(-amount, self.currency), refunded_on.isoformat(), reference, request_id,
                  _now())

    @property
    def outstanding(self) -> Decimal:
        """total - credited - paid (negative: overpaid); 0 on a void invoice."""
        return outstanding_of(self.status == InvoiceStatus.VOID, self.total, self.credited_total, self.paid_total)

    @property
    def payment_status(self) -> str:
        return payment_status_of(self.status == InvoiceStatus.VOID, self.outstanding, self.paid_total)

    def _require_active(self, what: str) -> None:
        if self.status == InvoiceStatus.VOID:
            raise FailedPrecondition(f"invoice {self.number} is void; it cannot be {what}")
        if self.status == InvoiceStatus.CREDITED:
            raise FailedPrecondition(f"invoice {self.number} is fully credited; it cannot be {what}")

    def same_request(self, reseller_id: str, period: Period) -> bool:
        return self.reseller_id == reseller_id and Period.from_dict(self.period) == period


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class InvoiceBook(Aggregate):
    """The active invoice periods of one reseller (neither void nor fully credited); saving it
    serialises overlapping creates."""

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

    def check_free(self, period: Period) -> None:
        """Refuse a period overlapping an active one."""
        lo, hi = period.start.isoformat(), period.end.isoformat()  # ISO dates compare as text
        for start, end, other_number in self.active.values():
            if start <= hi and lo <= end:
                raise FailedPrecondition(
                    f"period overlaps invoice {other_number} ({start}..{end}); void or credit it first")

    def claim(self, invoice_id: str, number: str, period: Period) -> None:
        self.check_free(period)
        self._claim(invoice_id, number, period.start.isoformat(), period.end.isoformat())

    def release(self, invoice_id: str) -> None:
        self._release(invoice_id)

    def __deepcopy__(self, memo: dict) -> "InvoiceBook":
        """A copy for a command (the aggregate cache hands out copies): `active` maps to values that
        are replaced, never changed in place, so copying the dict is enough — a full deepcopy of a
        long-lived reseller's periods was a third of CreateInvoice's time."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.__dict__["active"] = dict(self.active)
        copy.__dict__["_pending_events"] = list(self._pending_events)
        return copy
