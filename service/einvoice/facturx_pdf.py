"""Factur-X: the plain PDF as PDF/A-3B with the CII XML embedded as factur-x.xml; byte-identical per input.

Built with pypdf directly (not facturx.generate_from_binary, which stamps the wall clock into the XMP,
the Info dates and the attachment's /ModDate). Everything time- or identity-like is derived from the
document: dates from its issue date, the trailer /ID from its kind and number.
"""

from __future__ import annotations

import hashlib
import io
from datetime import date

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject, ByteStringObject, DecodedStreamObject, DictionaryObject, IndirectObject, NameObject,
    NumberObject, TextStringObject,
)

from service.einvoice import document as d
from service.einvoice._xmp import Metadata, xmp_packet
from service.einvoice.srgb_icc import DESCRIPTION as ICC_DESCRIPTION, profile as icc_profile

FILE_NAME = "factur-x.xml"
AF_RELATIONSHIP = "/Alternative"  # the XML is the invoice; the PDF pages are its human-readable rendering
CREATOR = "Switchboard Billing"
PRODUCER = "Switchboard Billing (borb, pypdf)"
TITLES = {d.INVOICE: "Invoice", d.CREDIT_NOTE: "Credit note"}


def facturx_pdf(plain_pdf: bytes, cii: bytes, doc: d.EDocument) -> bytes:
    """`plain_pdf` (fonts embedded, e.g. service.render) + `cii` (cii_xml(doc)) -> a Factur-X PDF/A-3B."""
    writer = PdfWriter(clone_from=io.BytesIO(plain_pdf))
    _require_embedded_fonts(writer)
    writer.pdf_header = "%PDF-1.7"  # PDF/A-3 is based on PDF 1.7
    meta = _metadata(doc)
    pdf_date = _pdf_date(doc.issue_date)
    _catalog(writer, _attach(writer, cii, pdf_date), meta)
    writer.metadata = {"/Title": meta.title, "/Author": meta.author, "/Subject": meta.subject,
                       "/Creator": meta.creator_tool, "/Producer": meta.producer,
                       "/CreationDate": pdf_date, "/ModDate": pdf_date}
    file_id = ByteStringObject(_file_id(doc))
    writer._ID = ArrayObject([file_id, file_id])  # a new file: not the plain PDF's /ID
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class NotPdfA(ValueError):
    """The plain PDF cannot become PDF/A as it is (e.g. a font program is not embedded)."""


def _require_embedded_fonts(writer: PdfWriter) -> None:
    """PDF/A needs every font program embedded; refuse rather than label a non-conforming file PDF/A."""
    for resources in _all_resources(writer):
        for name, font in (resources.get("/Font") or {}).items():
            font = font.get_object()
            if font.get("/Subtype") == "/Type3":
                continue  # glyphs are content streams: nothing to embed
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else DictionaryObject()
            if not any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
                raise NotPdfA(f"font {font.get('/BaseFont', name)} is not embedded; PDF/A needs every font embedded")


def _all_resources(writer: PdfWriter):
    """Resource dictionaries of every page and of the form XObjects they use (one level deep)."""
    for page in writer.pages:
        resources = (page.get("/Resources") or DictionaryObject()).get_object()
        yield resources
        for xobject in (resources.get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
                yield xobject["/Resources"].get_object()


def _catalog(writer: PdfWriter, filespec: IndirectObject, meta: Metadata) -> None:
    """/AF and /Names (the attachment), /OutputIntents (sRGB) and /Metadata (XMP) on the catalog."""
    root = writer.root_object
    root[NameObject("/AF")] = writer._add_object(ArrayObject([filespec]))
    names = root.get("/Names")
    names = names.get_object() if names is not None else DictionaryObject()  # keep e.g. /Dests
    names[NameObject("/EmbeddedFiles")] = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject(FILE_NAME), filespec])})
    root[NameObject("/Names")] = names
    root[NameObject("/OutputIntents")] = ArrayObject([_output_intent(writer)])
    root[NameObject("/Metadata")] = writer._add_object(_xmp_stream(meta))


def _metadata(doc: d.EDocument) -> Metadata:
    title = f"{TITLES[doc.kind]} {doc.number}"
    subject = f"{title} of {doc.issue_date.isoformat()} from {doc.seller.name.strip()} " \
              f"to {doc.buyer.name.strip()} (Factur-X EN 16931)"
    return Metadata(title=title, author=doc.seller.name.strip(), subject=subject, creator_tool=CREATOR,
                    producer=PRODUCER, date=f"{doc.issue_date.isoformat()}T00:00:00+00:00")


def _pdf_date(day: date) -> str:
    return day.strftime("D:%Y%m%d000000+00'00'")


def _file_id(doc: d.EDocument) -> bytes:
    return hashlib.sha256(f"switchboard-billing/{doc.kind}/{doc.number}".encode("utf-8")).digest()[:16]


def _attach(writer: PdfWriter, cii: bytes, pdf_date: str) -> IndirectObject:
    """The embedded file stream and its file specification (PDF/A-3: /AFRelationship, /UF, /Subtype)."""
    stream = DecodedStreamObject()
    stream.set_data(cii)
    stream = stream.flate_encode()
    stream.update({
        NameObject("/Type"): NameObject("/EmbeddedFile"),
        NameObject("/Subtype"): NameObject("/text/xml"),
        NameObject("/Params"): DictionaryObject({
            NameObject("/ModDate"): TextStringObject(pdf_date),
            NameObject("/Size"): NumberObject(len(cii)),
            NameObject("/CheckSum"): ByteStringObject(hashlib.md5(cii).digest()),
        }),
    })
    stream_ref = writer._add_object(stream)
    name = TextStringObject(FILE_NAME)
    return writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Filespec"),
        NameObject("/F"): name,
        NameObject("/UF"): name,
        NameObject("/Desc"): TextStringObject("Factur-X invoice data (UN/CEFACT CII, EN 16931)"),
        NameObject("/AFRelationship"): NameObject(AF_RELATIONSHIP),
        NameObject("/EF"): DictionaryObject({NameObject("/F"): stream_ref, NameObject("/UF"): stream_ref}),
    }))


def _output_intent(writer: PdfWriter) -> IndirectObject:
    profile = DecodedStreamObject()
    profile.set_data(icc_profile())
    profile = profile.flate_encode()
    profile[NameObject("/N")] = NumberObject(3)
    return writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/OutputIntent"),
        NameObject("/S"): NameObject("/GTS_PDFA1"),
        NameObject("/OutputConditionIdentifier"): TextStringObject(ICC_DESCRIPTION),
        NameObject("/RegistryName"): TextStringObject("http://www.color.org"),
        NameObject("/Info"): TextStringObject(ICC_DESCRIPTION),
        NameObject("/DestOutputProfile"): writer._add_object(profile),
    }))


def _xmp_stream(meta: Metadata) -> DecodedStreamObject:
    """Uncompressed, so that tools which only scan for the packet find it (PDF/A-1 even requires it)."""
    stream = DecodedStreamObject()
    stream.set_data(xmp_packet(meta))
    stream.update({NameObject("/Type"): NameObject("/Metadata"), NameObject("/Subtype"): NameObject("/XML")})
    return stream
