"""Can a document be expressed in EN 16931 as it is? `check` lists every reason it cannot, all at once."""

from __future__ import annotations

import re
from decimal import Decimal

from service.einvoice.document import (
    CREDIT_NOTE, INVOICE, REVERSE_CHARGE, STANDARD, EDocument, Party, minor_digits,
)

Violation = tuple[str, str]  # (subject, description), e.g. ("seller.country_code", "…")
MAX_DECIMALS = 2  # EN 16931 BR-DEC-*: amounts have at most two decimals
_COUNTRY_PREFIX = re.compile(r"^[A-Z]{2}")
_AMOUNT = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,%d})?$" % MAX_DECIMALS)  # xs:decimal, no sign, no exponent
_RATE = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,6})?$")


class Inexpressible(ValueError):
    """Raised by the XML builders for a document that `check` refuses; `.violations` lists why."""

    def __init__(self, violations: list[Violation]):
        super().__init__("; ".join(f"{subject}: {description}" for subject, description in violations))
        self.violations = violations


def require_expressible(doc: EDocument) -> None:
    """Raise Inexpressible unless `check(doc)` is empty: no invalid e-invoice is ever produced."""
    violations = check(doc)
    if violations:
        raise Inexpressible(violations)


def check(doc: EDocument) -> list[Violation]:
    """Every reason `doc` cannot be expressed as an EN 16931 e-invoice; empty when it can."""
    violations: list[Violation] = []
    violations += _party(doc.seller, "seller", vat_required=True)
    violations += _party(doc.buyer, "bill_to", vat_required=doc.vat_category == REVERSE_CHARGE)
    currency = _currency(doc.currency)
    violations += currency
    violations += _vat(doc)
    violations += _kind(doc)
    if not currency:  # a 3-decimal currency's amounts would only repeat the currency's violation
        violations += _amounts(doc)
    return violations


def _party(party: Party, path: str, vat_required: bool) -> list[Violation]:
    out = []
    if not party.name.strip():
        out.append((f"{path}.name", "the name is missing (EN 16931 BT-27 / BT-44)"))
    country = party.country_code.strip()
    if not country:
        out.append((f"{path}.country_code", "the country code (ISO 3166-1 alpha-2, e.g. DE) is missing"))
    elif not _COUNTRY_PREFIX.fullmatch(country):
        out.append((f"{path}.country_code", f"{country!r} is not an ISO 3166-1 alpha-2 country code"))
    tax_id = party.tax_id.strip()
    if vat_required and not tax_id:
        why = "" if path == "seller" else " under reverse charge"
        out.append((f"{path}.tax_id", f"the VAT identifier is missing{why}"))
    elif tax_id and not _COUNTRY_PREFIX.match(tax_id):
        out.append((f"{path}.tax_id", f"the VAT identifier {tax_id!r} must start with a country prefix "
                                      "(EN 16931 BR-CO-09)"))
    return out


def _currency(currency: str) -> list[Violation]:
    digits = minor_digits(currency)
    if digits is None:
        return [("currency", f"{currency!r} is not an ISO 4217 currency code")]
    if digits > MAX_DECIMALS:
        return [("currency", f"{currency} has {digits} decimals; EN 16931 allows at most {MAX_DECIMALS}")]
    return []


def _vat(doc: EDocument) -> list[Violation]:
    if doc.vat_category not in (STANDARD, REVERSE_CHARGE):
        return [("bill_to.vat_category", f"VAT category {doc.vat_category!r} is neither S nor AE")]
    if not _RATE.fullmatch(doc.tax_rate):
        return [("tax_rate", f"the tax rate {doc.tax_rate!r} is not a decimal fraction ≥ 0 like 0.19")]
    rate = Decimal(doc.tax_rate)
    if doc.vat_category == STANDARD and rate == 0:
        return [("bill_to.vat_category", "a standard-rate document at rate 0 cannot be expressed "
                                         "(EN 16931 BR-S-05); set the reseller's vat_category to reverse charge")]
    if doc.vat_category == REVERSE_CHARGE and rate != 0:
        return [("tax_rate", f"a reverse-charge document must have rate 0, not {doc.tax_rate} (EN 16931 BR-AE-06)")]
    return []


def _kind(doc: EDocument) -> list[Violation]:
    if doc.kind not in (INVOICE, CREDIT_NOTE):
        return [("kind", f"document kind {doc.kind!r} is neither invoice nor credit_note")]
    if doc.kind == CREDIT_NOTE and not doc.preceding_number.strip():
        return [("preceding_number", "a credit note must name the invoice it corrects (EN 16931 BT-25)")]
    return []


def _amounts(doc: EDocument) -> list[Violation]:
    """The document's own amounts must already satisfy the EN 16931 sums: they are never recomputed."""
    named = [(f"lines[{i}].amount", line.amount) for i, line in enumerate(doc.lines)]
    named += [("subtotal", doc.subtotal), ("tax", doc.tax), ("total", doc.total)]
    out = [(subject, f"{text!r} is not an amount ≥ 0 with at most {MAX_DECIMALS} decimals")
           for subject, text in named if not _AMOUNT.fullmatch(text)]
    if out:
        return out
    lines = sum((Decimal(line.amount) for line in doc.lines), Decimal(0))
    if lines != Decimal(doc.subtotal):
        out.append(("subtotal", f"the lines add up to {lines}, not to the subtotal {doc.subtotal} (BR-CO-10)"))
    if Decimal(doc.subtotal) + Decimal(doc.tax) != Decimal(doc.total):
        out.append(("total", f"subtotal {doc.subtotal} + tax {doc.tax} is not the total {doc.total} (BR-CO-15)"))
    if doc.vat_category == REVERSE_CHARGE and Decimal(doc.tax) != 0:
        out.append(("tax", f"a reverse-charge document carries no tax, not {doc.tax} (BR-AE-09)"))
    return out
