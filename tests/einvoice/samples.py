"""Sample documents for the e-invoice tests: real VAT ids and IBAN (valid check digits)."""

from __future__ import annotations

import dataclasses
from datetime import date

from service.einvoice.document import EDocument, Line, Party

SELLER = Party(name="Switchboard GmbH", address_lines=("Friedrichstraße 123", "Aufgang B"),
               postal_code="10117", city="Berlin", country_code="DE", tax_id="DE123456788",
               email="billing@switchboard.example")
BUYER = Party(name="Alpen Telecom GmbH", address_lines=("Mariahilfer Straße 1",), postal_code="1060",
              city="Wien", country_code="AT", tax_id="ATU13585627", email="ap@alpen.example")
IBAN = "DE89 3704 0044 0532 0130 00"
BIC = "COBADEFFXXX"


def invoice(**changes) -> EDocument:
    """A standard-rate EUR invoice with three lines: 100.00 + 23.45 + 0.55 = 124.00, tax 23.56."""
    base = EDocument(
        kind="invoice", number="INV-2026/000042", issue_date=date(2026, 3, 1), due_date=date(2026, 3, 31),
        currency="EUR", seller=SELLER, seller_iban=IBAN, seller_bic=BIC, buyer=BUYER, vat_category="S",
        tax_rate="0.19",
        lines=(Line("Germany mobile", "100.00", calls=1200, billed_seconds=360000),
               Line("Austria fixed", "23.45", calls=57, billed_seconds=4321),
               Line("Premium", "0.55", calls=1, billed_seconds=59)),
        subtotal="124.00", tax="23.56", total="147.56",
        period_start=date(2026, 2, 1), period_end=date(2026, 2, 28))
    return dataclasses.replace(base, **changes)


def lines(count: int, amount: str = "12.34") -> tuple[Line, ...]:
    return tuple(Line(f"Group {i:04d}", amount, calls=12, billed_seconds=3600 + i) for i in range(count))


def twenty_lines() -> EDocument:
    """20 lines of 12.34: subtotal 246.80, tax round(46.892) = 46.89."""
    return invoice(lines=lines(20), subtotal="246.80", tax="46.89", total="293.69")


def reverse_charge() -> EDocument:
    return invoice(vat_category="AE", tax_rate="0", tax="0.00", total="124.00", number="INV-2026/000043")


def jpy() -> EDocument:
    """0-decimal currency: 1234 + 567 = 1801, tax round(180.1) = 180."""
    return invoice(currency="JPY", tax_rate="0.10", number="INV-2026/000044",
                   lines=(Line("Japan mobile", "1234", calls=80, billed_seconds=7200),
                          Line("Japan fixed", "567", calls=20, billed_seconds=1800)),
                   subtotal="1801", tax="180", total="1981")


def credit_note() -> EDocument:
    """A partial credit of the first line of `invoice()`: 40.00 + 7.60 tax."""
    return invoice(kind="credit_note", number="CN-2026/000007", issue_date=date(2026, 3, 10), due_date=None,
                   lines=(Line("Germany mobile", "40.00"),), subtotal="40.00", tax="7.60", total="47.60",
                   preceding_number="INV-2026/000042", preceding_issue_date=date(2026, 3, 1),
                   note="Re-rated calls to Germany mobile")


def zero_invoice() -> EDocument:
    return invoice(lines=(), subtotal="0.00", tax="0.00", total="0.00", number="INV-2026/000045")


def unicode_names() -> EDocument:
    seller = dataclasses.replace(SELLER, name="Switchboard AG Zürich", address_lines=("Bahnhofstraße 5",),
                                 postal_code="8001", city="Zürich", country_code="CH",
                                 tax_id="CHE-116.281.710 MWST")
    buyer = dataclasses.replace(BUYER, name="Łódź Telekom Sp. z o.o. / ООО «Москва Телеком»",
                                address_lines=("ul. Żeromskiego 7", "Москва, ул. Тверская 1"),
                                postal_code="90-001", city="Łódź", country_code="PL", tax_id="PL5260250216")
    return invoice(seller=seller, buyer=buyer, number="INV-2026/000046",
                   lines=(Line("Москва mobile", "100.00", calls=10, billed_seconds=600),
                          Line("Łódź fixed", "23.45"), Line("Zürich premium", "0.55")))
