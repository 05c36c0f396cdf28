"""CII and UBL output is XSD-valid and clean under the EN 16931 Schematron, for every kind of document."""

import dataclasses
from datetime import date

import pytest
from lxml import etree

from einvoice import samples
from einvoice.validation import schematron_errors, xsd_errors
from service.einvoice.cii import cii_xml
from service.einvoice.rules import Inexpressible, check
from service.einvoice.ubl import ubl_xml

DOCUMENTS = {
    "standard_rate_eur_several_lines": samples.invoice,
    "twenty_lines": samples.twenty_lines,
    "reverse_charge": samples.reverse_charge,
    "jpy_zero_decimals": samples.jpy,
    "partial_credit_note": samples.credit_note,
    "zero_invoice_without_lines": samples.zero_invoice,
    "unicode_names": samples.unicode_names,
    "no_due_date_no_iban_no_period": lambda: samples.invoice(
        due_date=None, seller_iban="", seller_bic="", period_start=None, period_end=None),
    "credit_note_with_due_date": lambda: dataclasses.replace(samples.credit_note(), due_date=date(2026, 4, 9)),
    "many_address_lines_no_email": lambda: samples.invoice(buyer=dataclasses.replace(
        samples.BUYER, address_lines=("c/o Accounts", "Floor 3", "Mariahilfer Straße 1", "Top 7"), email="")),
}
SYNTAXES = {"cii": cii_xml, "ubl": ubl_xml}


@pytest.mark.parametrize("syntax", SYNTAXES)
@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_is_schema_valid_and_schematron_clean(name, syntax):
    doc = DOCUMENTS[name]()
    assert check(doc) == []
    xml = SYNTAXES[syntax](doc)
    assert xsd_errors(xml, syntax) == []
    assert schematron_errors(xml, syntax) == []


def edited(xml: bytes, local_name: str, text: str | None) -> bytes:
    """`xml` with the first element called `local_name` given `text`, or removed when text is None."""
    tree = etree.fromstring(xml)
    element = next(e for e in tree.iter() if isinstance(e.tag, str) and etree.QName(e).localname == local_name)
    if text is None:
        element.getparent().remove(element)
    else:
        element.text = text
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_validators_do_report_broken_documents(syntax):
    """The harness is not vacuous: a wrong total breaks a calculation rule, a lost element the XSD."""
    xml = SYNTAXES[syntax](samples.invoice())
    wrong_total = edited(xml, "GrandTotalAmount" if syntax == "cii" else "TaxInclusiveAmount", "147.57")
    assert any("BR-CO-15" in failure for failure in schematron_errors(wrong_total, syntax))
    no_country = edited(xml, "CountryID" if syntax == "cii" else "IdentificationCode", None)
    assert xsd_errors(no_country, syntax) or schematron_errors(no_country, syntax)


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_builders_refuse_inexpressible_documents(syntax):
    with pytest.raises(Inexpressible) as refused:
        SYNTAXES[syntax](samples.invoice(currency="KWD"))
    assert refused.value.violations[0] == ("currency", "KWD has 3 decimals; EN 16931 allows at most 2")
