"""The input contract: an invoice or credit note as plain values, plus the helpers both syntaxes share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from domain.currencies import MINOR_UNITS

INVOICE = "invoice"
CREDIT_NOTE = "credit_note"
STANDARD = "S"
REVERSE_CHARGE = "AE"

GUIDELINE = "urn:cen.eu:en16931:2017"
PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
TYPE_CODES = {INVOICE: "380", CREDIT_NOTE: "381"}
CREDIT_TRANSFER = "58"  # UNTDID 4461: SEPA credit transfer
UNIT = "C62"  # UN/ECE Rec 20: "one" (each line is quantity 1 at price = line amount: Peppol R120)
REVERSE_CHARGE_REASON = "Reverse charge"
REVERSE_CHARGE_CODE = "VATEX-EU-AE"
NO_USAGE = "No usage"


@dataclass(frozen=True)
class Party:
    name: str
    address_lines: tuple[str, ...]
    postal_code: str
    city: str
    country_code: str
    tax_id: str
    email: str


@dataclass(frozen=True)
class Line:
    destination_group: str
    amount: str  # decimal string with the currency's digits
    calls: int | None = None
    billed_seconds: int | None = None


@dataclass(frozen=True)
class EDocument:
    kind: str  # "invoice" | "credit_note"
    number: str
    issue_date: date
    due_date: date | None
    currency: str
    seller: Party
    seller_iban: str
    seller_bic: str
    buyer: Party
    vat_category: str  # "S" (standard) | "AE" (reverse charge)
    tax_rate: str  # "0.19"
    lines: tuple[Line, ...]
    subtotal: str
    tax: str
    total: str
    period_start: date | None
    period_end: date | None
    preceding_number: str = ""  # credit notes: the invoice they correct
    preceding_issue_date: date | None = None
    note: str = ""  # e.g. a credit note's reason


def minor_digits(currency: str) -> int | None:
    """ISO 4217 minor unit of `currency`, None when unknown."""
    return MINOR_UNITS.get(currency)


def effective_lines(doc: EDocument) -> tuple[Line, ...]:
    """The document's lines, or one "No usage" line of 0 (EN 16931 needs at least one line)."""
    if doc.lines:
        return doc.lines
    digits = minor_digits(doc.currency) or 0
    return (Line(NO_USAGE, f"{Decimal(0).scaleb(-digits):f}"),)


def rate_percent(doc: EDocument) -> str:
    """BT-119/BT-152: the rate as a percentage ('0.19' -> '19', '0.075' -> '7.5'); AE is always 0."""
    if doc.vat_category == REVERSE_CHARGE:
        return "0"
    value = (Decimal(doc.tax_rate) * 100).normalize()
    return f"{value:f}"


def line_description(line: Line) -> str:
    """BT-154: calls and minutes of a usage line ('' when the line carries neither)."""
    parts = []
    if line.calls is not None:
        parts.append(f"{line.calls} call" + ("" if line.calls == 1 else "s"))
    if line.billed_seconds is not None:
        minutes = (Decimal(line.billed_seconds) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        parts.append(f"{minutes:f} minutes")
    return ", ".join(parts)


def address(party: Party) -> tuple[str, ...]:
    """At most three street lines (CII LineOne..LineThree); extra lines are joined onto the third."""
    lines = tuple(line.strip() for line in party.address_lines if line.strip())
    if len(lines) <= 3:
        return lines
    return lines[:2] + (", ".join(lines[2:]),)


def pays_to_seller_account(doc: EDocument) -> bool:
    """Payment means (BG-16, credit transfer to the seller's IBAN) on invoices only.

    A credit note's amount flows to the buyer, whose account we do not know: BT-84 would be wrong there.
    """
    return doc.kind == INVOICE and bool(doc.seller_iban.strip())


def payment_terms(doc: EDocument) -> str:
    """BT-20 when there is no due date (BR-CO-25 needs one of them when an amount is payable)."""
    if doc.kind == CREDIT_NOTE:
        return "The credited amount is refunded or set off against open invoices."
    return "Payable on receipt."
