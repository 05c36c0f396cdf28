"""What an invoice is still owed (SPEC §13, §14): credit plans, outstanding, payment status, aging."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.errors import FailedPrecondition, InvalidArgument
from domain.money import format_money, parse_amount, round_money


class PaymentStatus:
    NONE = "NONE"  # void
    UNPAID = "UNPAID"  # nothing paid, something owed
    PARTIALLY_PAID = "PARTIALLY_PAID"
    SETTLED = "SETTLED"  # outstanding <= 0


def outstanding_of(void: bool, total: str, credited: str, paid: str) -> Decimal:
    """total - credited - paid (negative: overpaid, a refund is owed); 0 on a void invoice."""
    if void:
        return Decimal(0)
    return Decimal(total) - Decimal(credited) - Decimal(paid)


def payment_status_of(void: bool, outstanding: Decimal, paid: str) -> str:
    if void:
        return PaymentStatus.NONE
    if outstanding <= 0:
        return PaymentStatus.SETTLED
    return PaymentStatus.UNPAID if Decimal(paid) == 0 else PaymentStatus.PARTIALLY_PAID


@dataclass(frozen=True)
class CreditPlan:
    """The lines, tax and total one credit note takes from an invoice (all amounts positive)."""

    lines: list[dict]  # [{destination_group, amount}] in the invoice's line order
    subtotal: str
    tax: str
    total: str
    completes: bool  # after it, every line is fully credited: the invoice becomes CREDITED

    @classmethod
    def of(cls, invoice_lines: list[dict], credited_lines: dict[str, str], tax_rate: str, invoice_tax: str,
           credited_tax: str, currency: str, requested: list[tuple[str, str]], number: str) -> "CreditPlan":
        remaining = {line["destination_group"]: Decimal(line["amount"]) - Decimal(credited_lines.get(
            line["destination_group"], "0")) for line in invoice_lines}
        wanted = _requested(requested, remaining, currency, number) if requested else {
            g: left for g, left in remaining.items() if left > 0}
        if not wanted:
            raise FailedPrecondition(f"invoice {number} has nothing left to credit")
        completes = all(remaining[g] - wanted.get(g, Decimal(0)) <= 0 for g in remaining)
        subtotal = sum(wanted.values(), Decimal(0))
        tax_left = Decimal(invoice_tax) - Decimal(credited_tax)
        # The completing credit takes exactly the tax still uncredited; earlier ones their own
        # rounded tax, never more than is left, so the credits never exceed the invoice by a cent.
        tax = tax_left if completes else min(round_money(subtotal * Decimal(tax_rate), currency), tax_left)
        order = [line["destination_group"] for line in invoice_lines]
        lines = [{"destination_group": g, "amount": format_money(wanted[g], currency)} for g in order if g in wanted]
        return cls(lines, format_money(subtotal, currency), format_money(tax, currency),
                   format_money(subtotal + tax, currency), completes)


def _requested(requested: list[tuple[str, str]], remaining: dict[str, Decimal], currency: str,
               number: str) -> dict[str, Decimal]:
    wanted: dict[str, Decimal] = {}
    for i, (group, text) in enumerate(requested):
        if group not in remaining:
            raise InvalidArgument(f"lines[{i}].destination_group", f"invoice {number} has no line {group[:128]!r}")
        if group in wanted:
            raise InvalidArgument(f"lines[{i}].destination_group", f"{group[:128]!r} is listed twice")
        amount = parse_amount(f"lines[{i}].amount", text, currency)
        if amount > remaining[group]:
            raise FailedPrecondition(f"line {group!r} of invoice {number} has {format_money(max(remaining[group], 0), currency)} "
                                     f"left to credit; {format_money(amount, currency)} is too much")
        wanted[group] = amount
    return wanted


AGING_BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90")


def aging_bucket(due_date: date | None, as_of: date) -> str:
    """Days past due as of a day: not yet due (or no due date) is current."""
    days = (as_of - due_date).days if due_date else 0
    if days <= 0:
        return "current"
    if days <= 30:
        return "days_1_30"
    if days <= 60:
        return "days_31_60"
    return "days_61_90" if days <= 90 else "days_over_90"
