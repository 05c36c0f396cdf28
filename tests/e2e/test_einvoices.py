"""E-invoices over the API (SPEC §15): CII/UBL export and Factur-X PDFs of real invoices and credit
notes, validated offline against the XSDs and the EN 16931 Schematron."""
import hashlib
from io import BytesIO

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from pypdf import PdfReader

from billing.v1 import credit_note_pb2, invoice_pb2, reseller_pb2, template_pb2, types_pb2
from einvoice.validation import schematron_errors, xsd_errors
from helpers import Stubs, call, create, credit, reseller, send

CII, UBL, FACTURX = types_pb2.XML_SYNTAX_CII, types_pb2.XML_SYNTAX_UBL, types_pb2.PDF_FORMAT_FACTURX


def seller(stubs, **kw):
    fields = dict(name="Switchboard GmbH", address_lines=["Hauptstraße 1"], tax_id="DE123456788",
                  email="billing@switchboard.example", country_code="DE", postal_code="10115", city="Berlin",
                  iban="DE89370400440532013000", bic="COBADEFFXXX")
    stubs.templates.UpdateSeller(template_pb2.Seller(**{**fields, **kw}))


@pytest.fixture
def stubs(channel):
    s = Stubs(channel)
    seller(s)
    s.resellers.UpsertReseller(reseller(name="Łódź Москва Zürich Sp. z o.o.", address_lines=["ul. Piotrkowska 1"],
                                        country_code="PL", postal_code="90-001", city="Łódź", tax_id="PL5260250274"))
    send(s, [call("a", amount="10.005", group="Germany Fixed"), call("b", amount="20", group="Germany Mobile")])
    return s


def export(stubs, syntax, invoice_id=None, credit_note_id=None):
    request = invoice_pb2.ExportDocumentXmlRequest(syntax=syntax)
    if credit_note_id:
        request.credit_note_id = credit_note_id
    else:
        request.invoice_id = invoice_id
    return stubs.invoices.ExportDocumentXml(request)


def assert_valid(xml: bytes, syntax: str) -> None:
    assert xsd_errors(xml, syntax) == []
    assert schematron_errors(xml, syntax) == []


def preconditions(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)
    subjects = []
    for detail in status.details if status else []:
        failure = error_details_pb2.PreconditionFailure()
        if detail.Unpack(failure):
            subjects += [v.subject for v in failure.violations]
    return subjects


def test_an_invoice_exports_as_valid_cii_and_ubl_with_its_own_amounts(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    cii, ubl = export(stubs, CII, inv.invoice_id), export(stubs, UBL, inv.invoice_id)
    assert_valid(cii.content, "cii")
    assert_valid(ubl.content, "ubl")
    assert (cii.filename, ubl.filename) == (f"{inv.number}-cii.xml", f"{inv.number}-ubl.xml")
    assert cii.sha256 == hashlib.sha256(cii.content).hexdigest()
    for content in (cii.content, ubl.content):
        text = content.decode("utf-8")
        assert inv.total in text and inv.tax in text and "Łódź" in text and "&#" not in text
    assert export(stubs, CII, inv.invoice_id).content == cii.content  # byte-identical


def test_a_credit_note_exports_as_381_referencing_its_invoice(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    note = credit(stubs, inv.invoice_id, reason="re-rated", lines=[("Germany Fixed", "1.00")])
    cii = export(stubs, CII, credit_note_id=note.credit_note_id).content
    ubl = export(stubs, UBL, credit_note_id=note.credit_note_id).content
    assert_valid(cii, "cii")
    assert_valid(ubl, "ubl")
    assert b">381<" in cii and inv.number.encode() in cii and b"<CreditNote" in ubl


def test_a_reverse_charge_and_a_zero_and_a_yen_invoice_are_valid(stubs):
    stubs.resellers.UpsertReseller(reseller("rc", tax_rate="0", vat_category=reseller_pb2.VAT_CATEGORY_REVERSE_CHARGE,
                                            country_code="FR", tax_id="FR40303265045"))
    stubs.resellers.UpsertReseller(reseller("jp", currency="JPY", time_zone="Asia/Tokyo", tax_rate="0.1",
                                            country_code="JP"))
    send(stubs, [call("rc1", reseller_id="rc", amount="3"), call("jp1", reseller_id="jp", amount="1200",
                                                                   currency="JPY")])
    rc = create(stubs, "2026-03-01", "2026-03-31", reseller_id="rc")
    zero = create(stubs, "2026-04-01", "2026-04-30")
    yen = create(stubs, "2026-03-01", "2026-03-31", reseller_id="jp")
    for inv in (rc, zero, yen):
        for syntax, name in ((CII, "cii"), (UBL, "ubl")):
            assert_valid(export(stubs, syntax, inv.invoice_id).content, name)
    assert b"AE" in export(stubs, CII, rc.invoice_id).content
    assert b"No usage" in export(stubs, UBL, zero.invoice_id).content


def test_missing_data_is_failed_precondition_listing_every_field_and_nothing_is_produced(channel):
    stubs = Stubs(channel)
    stubs.resellers.UpsertReseller(reseller())
    send(stubs, [call("a")])
    inv = create(stubs, "2026-03-01", "2026-03-31")
    for syntax in (CII, UBL):
        with pytest.raises(grpc.RpcError) as err:
            export(stubs, syntax, inv.invoice_id)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        subjects = preconditions(err.value)
        assert {"seller.country_code", "bill_to.country_code", "seller.tax_id"} <= set(subjects)
        assert all(s in err.value.details() for s in subjects)
    with pytest.raises(grpc.RpcError) as err:
        stubs.invoices.RenderInvoicePdf(invoice_pb2.RenderInvoicePdfRequest(invoice_id=inv.invoice_id, format=FACTURX))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_three_decimal_currency_is_refused_naming_it(stubs):
    stubs.resellers.UpsertReseller(reseller("kw", currency="KWD", time_zone="Asia/Kuwait", tax_rate="0",
                                            country_code="KW", vat_category=reseller_pb2.VAT_CATEGORY_REVERSE_CHARGE,
                                            tax_id="KW123"))
    inv = create(stubs, "2026-03-01", "2026-03-31", reseller_id="kw")
    with pytest.raises(grpc.RpcError) as err:
        export(stubs, UBL, inv.invoice_id)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "KWD" in err.value.details()
    assert "currency" in preconditions(err.value)


def test_unspecified_syntax_and_missing_document_are_invalid(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    for request in (invoice_pb2.ExportDocumentXmlRequest(invoice_id=inv.invoice_id),
                    invoice_pb2.ExportDocumentXmlRequest(syntax=CII)):
        with pytest.raises(grpc.RpcError) as err:
            stubs.invoices.ExportDocumentXml(request)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_facturx_pdf_embeds_the_cii_is_pdfa3_and_byte_identical_while_the_plain_pdf_is_unchanged(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    request = invoice_pb2.RenderInvoicePdfRequest(invoice_id=inv.invoice_id, format=FACTURX)
    first, second = stubs.invoices.RenderInvoicePdf(request), stubs.invoices.RenderInvoicePdf(request)
    assert first.content == second.content and first.sha256 == hashlib.sha256(first.content).hexdigest()
    reader = PdfReader(BytesIO(first.content))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"<pdfaid:part>3</pdfaid:part>" in xmp and b"<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    assert reader.attachments["factur-x.xml"][0] == export(stubs, CII, inv.invoice_id).content
    plain = stubs.invoices.RenderInvoicePdf(invoice_pb2.RenderInvoicePdfRequest(invoice_id=inv.invoice_id))
    default = stubs.invoices.RenderInvoicePdf(invoice_pb2.RenderInvoicePdfRequest(
        invoice_id=inv.invoice_id, format=types_pb2.PDF_FORMAT_PLAIN))
    assert plain.content == default.content != first.content
    note = credit(stubs, inv.invoice_id)
    pdf = stubs.credit_notes.RenderCreditNotePdf(credit_note_pb2.RenderCreditNotePdfRequest(
        credit_note_id=note.credit_note_id, format=FACTURX))
    assert b">381<" in PdfReader(BytesIO(pdf.content)).attachments["factur-x.xml"][0]


def test_seller_iban_and_bic_are_validated(stubs):
    for field, value in (("iban", "DE89370400440532013001"), ("bic", "NOTABIC!"), ("country_code", "XX")):
        with pytest.raises(grpc.RpcError) as err:
            seller(stubs, **{field: value})
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in err.value.details()
    kept = stubs.templates.UpdateSeller(template_pb2.Seller(name="Renamed"))  # Part II fields absent: kept
    assert (kept.iban, kept.country_code) == ("DE89370400440532013000", "DE")
