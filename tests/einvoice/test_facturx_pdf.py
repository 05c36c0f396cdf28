"""Factur-X PDF: PDF/A-3B metadata, the embedded CII, an sRGB OutputIntent, embedded fonts, stable bytes."""

import dataclasses
import hashlib
import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pypdf
import pytest
from fontTools.ttLib import TTFont
from PIL import ImageCms

from einvoice import samples
from einvoice.rendering import plain_pdf
from service.einvoice._xmp import FX_NAMESPACE
from service.einvoice.cii import cii_xml
from service.einvoice.facturx_pdf import NotPdfA, facturx_pdf
from service.einvoice.srgb_icc import PATH as ICC_PATH

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plain() -> bytes:
    return plain_pdf(samples.unicode_names())


@pytest.fixture(scope="module")
def pdf(plain) -> bytes:
    doc = samples.unicode_names()
    return facturx_pdf(plain, cii_xml(doc), doc)


@pytest.fixture(scope="module")
def reader(pdf) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


def fx_properties(reader) -> dict[str, str]:
    nodes = reader.xmp_metadata.get_nodes_in_namespace("", FX_NAMESPACE)
    return {node.localName: node.firstChild.data for node in nodes if node.firstChild is not None}


def test_xmp_declares_pdfa_3b_and_the_facturx_en16931_profile(reader):
    xmp = reader.xmp_metadata
    assert (xmp.pdfaid_part, xmp.pdfaid_conformance) == ("3", "B")
    assert fx_properties(reader) == {"DocumentType": "INVOICE", "DocumentFileName": "factur-x.xml",
                                     "Version": "1.0", "ConformanceLevel": "EN 16931"}
    assert b"pdfaExtension:schemas" in reader.trailer["/Root"]["/Metadata"].get_data()


def test_info_dictionary_agrees_with_xmp_and_dates_come_from_the_issue_date(reader):
    info, xmp = reader.metadata, reader.xmp_metadata
    assert info["/CreationDate"] == info["/ModDate"] == "D:20260301000000+00'00'"
    assert xmp.xmp_create_date.isoformat() == xmp.xmp_modify_date.isoformat() == "2026-03-01T00:00:00"
    assert info["/Title"] == xmp.dc_title["x-default"] == "Invoice INV-2026/000046"
    assert [info["/Author"]] == xmp.dc_creator == ["Switchboard AG Zürich"]
    assert info["/Subject"] == xmp.dc_description["x-default"]
    assert (info["/Producer"], info["/Creator"]) == (xmp.pdf_producer, xmp.xmp_creator_tool)


def test_embedded_factur_x_xml_is_the_cii_with_af_relationship(reader):
    doc = samples.unicode_names()
    assert reader.attachments["factur-x.xml"] == [cii_xml(doc)]
    root = reader.trailer["/Root"]
    [filespec] = [ref.get_object() for ref in root["/AF"]]
    assert filespec["/AFRelationship"] in ("/Data", "/Alternative")
    assert filespec["/F"] == filespec["/UF"] == "factur-x.xml"
    stream = filespec["/EF"]["/F"].get_object()
    assert stream["/Subtype"] == "/text/xml"
    assert stream["/Params"]["/ModDate"] == "D:20260301000000+00'00'"


def test_output_intent_carries_an_srgb_icc_profile(reader):
    [intent] = [ref.get_object() for ref in reader.trailer["/Root"]["/OutputIntents"]]
    assert intent["/S"] == "/GTS_PDFA1"
    profile_stream = intent["/DestOutputProfile"].get_object()
    assert profile_stream["/N"] == 3
    data = profile_stream.get_data()
    assert data == ICC_PATH.read_bytes()
    profile = ImageCms.ImageCmsProfile(io.BytesIO(data)).profile
    assert (profile.xcolor_space, profile.device_class, profile.version) == ("RGB ", "mntr", 2.1)
    assert profile.profile_description.startswith("sRGB IEC61966-2.1")


def test_every_font_is_embedded_with_widths_matching_its_program(reader):
    fonts = [font.get_object() for page in reader.pages for font in page["/Resources"]["/Font"].values()]
    assert fonts
    for font in fonts:
        descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        descriptor = descendant["/FontDescriptor"].get_object()
        program = descriptor.get("/FontFile2") or descriptor.get("/FontFile3") or descriptor.get("/FontFile")
        assert program is not None, f"{font['/BaseFont']} is not embedded"
        if "/W" in descendant:  # PDF/A 6.2.11.5: /W agrees with the embedded program's advance widths
            assert width_mismatches(descendant, program.get_object().get_data()) == []


def width_mismatches(descendant, program: bytes) -> list[int]:
    font = TTFont(io.BytesIO(program))
    order, scale = font.getGlyphOrder(), 1000 / font["head"].unitsPerEm
    widths = [item.get_object() for item in descendant["/W"].get_object()]
    declared, index = {}, 0
    while index < len(widths):
        first, second = int(widths[index]), widths[index + 1]
        if isinstance(second, list):
            declared.update({first + k: float(w) for k, w in enumerate(second)})
            index += 2
        else:
            declared.update({cid: float(widths[index + 2]) for cid in range(first, int(second) + 1)})
            index += 3
    return [cid for cid, width in declared.items()
            if cid < len(order) and abs(width - font["hmtx"][order[cid]][0] * scale) > 1]


def test_pdfa_basics_header_and_trailer_id_from_the_document_number(pdf, reader):
    assert pdf.startswith(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    first, second = reader.trailer["/ID"]
    assert first == second
    expected = hashlib.sha256(b"switchboard-billing/invoice/INV-2026/000046").digest()[:16]
    assert bytes(first.original_bytes if hasattr(first, "original_bytes") else first) == expected
    assert "/Encrypt" not in reader.trailer


def test_credit_note_pdf_has_its_own_id_and_title(plain):
    doc = samples.credit_note()
    reader = pypdf.PdfReader(io.BytesIO(facturx_pdf(plain, cii_xml(doc), doc)))
    assert reader.metadata["/Title"] == "Credit note CN-2026/000007"
    assert reader.attachments["factur-x.xml"] == [cii_xml(doc)]


def test_byte_identical_on_every_call(plain, pdf):
    doc = samples.unicode_names()
    assert facturx_pdf(plain, cii_xml(doc), doc) == pdf


def test_byte_identical_in_another_process(pdf):
    script = textwrap.dedent("""
        import hashlib, sys
        from einvoice import samples
        from einvoice.rendering import plain_pdf
        from service.einvoice.cii import cii_xml
        from service.einvoice.facturx_pdf import NotPdfA, facturx_pdf
        doc = samples.unicode_names()
        sys.stdout.write(hashlib.sha256(facturx_pdf(plain_pdf(doc), cii_xml(doc), doc)).hexdigest())
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env={"PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}", "PATH": "/usr/bin:/bin",
                                             "TZ": "Pacific/Kiritimati"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()[-64:] == hashlib.sha256(pdf).hexdigest()


def test_the_facturx_library_reads_it_back_as_en16931(pdf):
    from facturx import get_facturx_xml_from_pdf, get_level, xml_check_xsd
    from lxml import etree

    filename, xml = get_facturx_xml_from_pdf(pdf, check_xsd=False)
    assert (filename, xml) == ("factur-x.xml", cii_xml(samples.unicode_names()))
    assert get_level(etree.fromstring(xml)) == "en16931"
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931")


def test_xmp_stays_well_formed_with_markup_characters_in_names(plain):
    seller = dataclasses.replace(samples.SELLER, name='Bits & <Bytes> "GmbH"')
    doc = samples.invoice(seller=seller)
    reader = pypdf.PdfReader(io.BytesIO(facturx_pdf(plain, cii_xml(doc), doc)))
    assert reader.xmp_metadata.dc_creator == ['Bits & <Bytes> "GmbH"'] == [reader.metadata["/Author"]]


def test_a_pdf_with_a_font_that_is_not_embedded_is_refused():
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.setFont("Helvetica", 12)
    page.drawString(72, 720, "Standard-14 Helvetica is never embedded")
    page.save()
    doc = samples.invoice()
    with pytest.raises(NotPdfA, match="Helvetica"):
        facturx_pdf(buffer.getvalue(), cii_xml(doc), doc)
