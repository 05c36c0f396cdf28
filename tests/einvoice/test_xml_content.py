"""What the CII and UBL say: the document's own amounts, names, references and VAT treatment."""

import pytest
from lxml import etree

from einvoice import samples
from service.einvoice.cii import cii_xml
from service.einvoice.ubl import ubl_xml

NS = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}
CII_AMOUNTS = {"ChargeAmount", "LineTotalAmount", "CalculatedAmount", "BasisAmount", "TaxBasisTotalAmount",
               "TaxTotalAmount", "GrandTotalAmount", "DuePayableAmount"}


def local(element) -> str:
    return etree.QName(element).localname


def texts(xml: bytes, name: str) -> list[str]:
    return [e.text for e in etree.fromstring(xml).iter() if isinstance(e.tag, str) and local(e) == name]


def xpath(xml: bytes, path: str) -> list[str]:
    """Texts at `path`, written with the prefixes of NS (UBL's root namespace has none: use local-name())."""
    return [str(v) for v in etree.fromstring(xml).xpath(path, namespaces=NS)]


def cii_amounts(xml: bytes) -> set[str]:
    return {e.text for e in etree.fromstring(xml).iter() if isinstance(e.tag, str) and local(e) in CII_AMOUNTS}


def ubl_amounts(xml: bytes) -> set[str]:
    return {e.text for e in etree.fromstring(xml).iter() if isinstance(e.tag, str) and e.get("currencyID")}


@pytest.mark.parametrize("make", [samples.invoice, samples.jpy, samples.credit_note, samples.reverse_charge])
def test_amounts_are_the_documents_own_strings(make):
    doc = make()
    expected = {line.amount for line in doc.lines} | {doc.subtotal, doc.tax, doc.total}
    assert cii_amounts(cii_xml(doc)) == expected
    assert ubl_amounts(ubl_xml(doc)) == expected


def test_each_line_is_quantity_one_at_its_amount_named_by_destination_group():
    doc = samples.invoice()
    cii, ubl = cii_xml(doc), ubl_xml(doc)
    groups = [line.destination_group for line in doc.lines]
    assert texts(cii, "Name")[:3] == groups
    assert [name for name in texts(ubl, "Name")] == groups
    assert texts(cii, "BilledQuantity") == texts(ubl, "InvoicedQuantity") == ["1"] * 3
    assert texts(ubl, "PriceAmount") == [line.amount for line in doc.lines]
    assert "1200 calls, 6000.00 minutes" in texts(cii, "Description")


def test_jpy_amounts_keep_zero_decimals():
    doc = samples.jpy()
    assert texts(cii_xml(doc), "GrandTotalAmount") == ["1981"]
    assert texts(ubl_xml(doc), "PayableAmount") == ["1981"]


def test_unicode_is_literal_utf8_not_character_references():
    doc = samples.unicode_names()
    for xml in (cii_xml(doc), ubl_xml(doc)):
        assert b"&#" not in xml
        for word in ("Zürich", "Łódź", "Москва"):
            assert word.encode("utf-8") in xml
        assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_credit_note_is_381_and_references_its_invoice():
    doc = samples.credit_note()
    cii, ubl = cii_xml(doc), ubl_xml(doc)
    assert texts(cii, "TypeCode")[0] == "381"
    assert texts(cii, "IssuerAssignedID") == ["INV-2026/000042"]
    assert "20260301" in texts(cii, "DateTimeString")
    assert etree.fromstring(ubl).tag.endswith("}CreditNote")
    assert texts(ubl, "CreditNoteTypeCode") == ["381"]
    reference = next(e for e in etree.fromstring(ubl).iter() if local(e) == "InvoiceDocumentReference")
    assert [child.text for child in reference] == ["INV-2026/000042", "2026-03-01"]
    assert xpath(ubl, "/*/cbc:Note/text()") == ["Re-rated calls to Germany mobile"]
    assert xpath(ubl, "//cac:PaymentTerms/cbc:Note/text()") != []  # BR-CO-25: no due date, so terms
    assert xpath(cii, "//ram:IncludedNote/ram:Content/text()") == ["Re-rated calls to Germany mobile"]
    assert xpath(cii, "//ram:SpecifiedTradeSettlementPaymentMeans") == []  # the seller's IBAN is not the payee


def test_reverse_charge_is_category_ae_at_rate_0_with_exemption_reason():
    doc = samples.reverse_charge()
    cii, ubl = cii_xml(doc), ubl_xml(doc)
    assert set(texts(cii, "CategoryCode")) == {"AE"}
    assert set(texts(cii, "RateApplicablePercent")) == {"0"}
    assert texts(cii, "ExemptionReason") == texts(ubl, "TaxExemptionReason") == ["Reverse charge"]
    assert texts(cii, "ExemptionReasonCode") == texts(ubl, "TaxExemptionReasonCode") == ["VATEX-EU-AE"]


def test_standard_rate_is_a_percentage():
    assert set(texts(cii_xml(samples.invoice()), "RateApplicablePercent")) == {"19"}
    assert set(texts(ubl_xml(samples.invoice(tax_rate="0.075", tax="9.30", total="133.30")), "Percent")) == {"7.5"}


def test_document_without_lines_gets_one_no_usage_line_of_zero():
    doc = samples.zero_invoice()
    cii, ubl = cii_xml(doc), ubl_xml(doc)
    assert texts(cii, "LineID") == xpath(ubl, "//cac:InvoiceLine/cbc:ID/text()") == ["1"]
    assert "No usage" in texts(cii, "Name") and "No usage" in texts(ubl, "Name")
    assert texts(cii, "ChargeAmount") == texts(ubl, "PriceAmount") == ["0.00"]


def test_seller_iban_due_date_and_period_are_stated():
    doc = samples.invoice()
    cii, ubl = cii_xml(doc), ubl_xml(doc)
    assert texts(cii, "IBANID") == ["DE89370400440532013000"]
    assert xpath(cii, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode/text()") == ["58"]
    assert texts(ubl, "PaymentMeansCode") == ["58"]
    assert texts(ubl, "DueDate") == ["2026-03-31"] and "20260331" in texts(cii, "DateTimeString")
    assert texts(ubl, "StartDate") == ["2026-02-01"] and texts(ubl, "EndDate") == ["2026-02-28"]
    assert texts(ubl, "CompanyID") == ["DE123456788", "ATU13585627"]


def test_output_is_deterministic():
    assert cii_xml(samples.unicode_names()) == cii_xml(samples.unicode_names())
    assert ubl_xml(samples.credit_note()) == ubl_xml(samples.credit_note())
