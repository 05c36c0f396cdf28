"""rules.check: every reason a document cannot be an EN 16931 e-invoice, all at once."""

import dataclasses

import pytest
from stdnum import iban
from stdnum.eu import vat

from einvoice import samples
from service.einvoice.rules import check


def test_sample_data_uses_real_check_digits():
    assert vat.is_valid(samples.SELLER.tax_id) and vat.is_valid(samples.BUYER.tax_id)
    assert vat.is_valid(samples.unicode_names().buyer.tax_id)
    assert not vat.is_valid("DE123456789")
    assert iban.is_valid(samples.IBAN)


@pytest.mark.parametrize("make", [samples.invoice, samples.reverse_charge, samples.jpy, samples.credit_note,
                                  samples.zero_invoice, samples.unicode_names])
def test_expressible_documents_have_no_violations(make):
    assert check(make()) == []


def test_every_missing_field_is_listed_at_once():
    seller = dataclasses.replace(samples.SELLER, country_code="", tax_id="")
    buyer = dataclasses.replace(samples.BUYER, country_code=" ", tax_id="")
    doc = dataclasses.replace(samples.reverse_charge(), seller=seller, buyer=buyer)
    assert [subject for subject, _ in check(doc)] == [
        "seller.country_code", "seller.tax_id", "bill_to.country_code", "bill_to.tax_id"]
    assert all(description for _, description in check(doc))


def test_buyer_vat_id_is_only_required_under_reverse_charge():
    buyer = dataclasses.replace(samples.BUYER, tax_id="")
    assert check(samples.invoice(buyer=buyer)) == []
    assert [s for s, _ in check(dataclasses.replace(samples.reverse_charge(), buyer=buyer))] == ["bill_to.tax_id"]


def test_three_decimal_currency_is_refused_naming_its_decimals():
    doc = samples.invoice(currency="KWD", lines=(samples.lines(1, "1.250")), subtotal="1.250", tax="0.238",
                          total="1.488")
    assert check(doc) == [("currency", "KWD has 3 decimals; EN 16931 allows at most 2")]


def test_standard_rate_at_zero_is_refused_asking_for_a_vat_category():
    doc = samples.invoice(tax_rate="0", tax="0.00", total="124.00")
    [(subject, description)] = check(doc)
    assert subject == "bill_to.vat_category"
    assert "BR-S-05" in description and "reverse charge" in description


def test_problems_of_several_kinds_are_reported_together():
    seller = dataclasses.replace(samples.SELLER, country_code="")
    doc = samples.invoice(seller=seller, currency="BHD", tax_rate="0", lines=(), subtotal="0.000",
                          tax="0.000", total="0.000")
    assert [s for s, _ in check(doc)] == ["seller.country_code", "currency", "bill_to.vat_category"]


def test_inconsistent_amounts_are_refused_rather_than_recomputed():
    doc = samples.invoice(subtotal="124.01", total="147.57")
    assert [s for s, _ in check(doc)] == ["subtotal"]
    assert [s for s, _ in check(samples.invoice(total="147.55"))] == ["total"]
    assert [s for s, _ in check(samples.invoice(tax="23.5600", total="147.56"))] == ["tax"]


def test_vat_id_without_country_prefix_and_credit_note_without_invoice_are_refused():
    seller = dataclasses.replace(samples.SELLER, tax_id="123456788")
    assert [s for s, _ in check(samples.invoice(seller=seller))] == ["seller.tax_id"]
    note = dataclasses.replace(samples.credit_note(), preceding_number="")
    assert [s for s, _ in check(note)] == ["preceding_number"]
