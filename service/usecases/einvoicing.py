"""E-invoices (SPEC §15): a document as EN 16931 CII or UBL XML, and as a Factur-X PDF/A-3B.

The XML is built from the stored document alone (its own amounts, never recomputed), the
reseller as billed and the seller stored before the document, so it is byte-identical on
every call. What the standard needs but the document lacks is FAILED_PRECONDITION listing
every missing field; nothing is produced.
"""
import hashlib
import re
from dataclasses import dataclass
from datetime import date

from domain.credit_note import CreditNote
from domain.errors import FailedPrecondition, InvalidArgument
from domain.invoice import Invoice
from domain.reseller import VatCategory
from domain.seller import SellerDetails
from service.einvoice import document as e
from service.einvoice.cii import cii_xml
from service.einvoice.facturx_pdf import facturx_pdf
from service.einvoice.rules import check
from service.einvoice.ubl import ubl_xml
from service.usecases.rendering import RenderedPdf, Rendering
from service.usecases.templates import Templates

CII, UBL = "CII", "UBL"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class XmlFile:
    content: bytes
    filename: str
    sha256: str


class EInvoicing:
    def __init__(self, templates: Templates, rendering: Rendering):
        self.templates = templates
        self.rendering = rendering

    def xml(self, document: Invoice | CreditNote, syntax: str) -> XmlFile:
        if syntax not in (CII, UBL):
            raise InvalidArgument("syntax", "want XML_SYNTAX_CII or XML_SYNTAX_UBL")
        edoc = self._expressible(document)
        content = cii_xml(edoc) if syntax == CII else ubl_xml(edoc)
        filename = f"{_UNSAFE.sub('_', document.number)}-{syntax.lower()}.xml"
        return XmlFile(content, filename, hashlib.sha256(content).hexdigest())

    def facturx(self, document: Invoice | CreditNote) -> RenderedPdf:
        """The plain PDF (same bytes as PDF_FORMAT_PLAIN) turned into PDF/A-3B with the CII inside."""
        edoc = self._expressible(document)
        plain = (self.rendering.render_invoice(document) if isinstance(document, Invoice)
                 else self.rendering.render_credit_note(document))
        content = facturx_pdf(plain.content, cii_xml(edoc), edoc)
        return RenderedPdf(content, hashlib.sha256(content).hexdigest(), plain.template_version)

    def _expressible(self, document: Invoice | CreditNote) -> e.EDocument:
        edoc = edocument(document, self.templates.seller_before(document.id))
        violations = check(edoc)
        if violations:
            listed = "; ".join(f"{subject}: {text}" for subject, text in violations)
            raise FailedPrecondition(f"document {document.number} cannot be expressed as an EN 16931 e-invoice: "
                                     f"{listed}", violations)
        return edoc


def edocument(document: Invoice | CreditNote, seller: SellerDetails) -> e.EDocument:
    """The stored document as the e-invoice library's plain values."""
    note = isinstance(document, CreditNote)
    bill_to = document.bill_to
    lines = tuple(e.Line(line["destination_group"], line["amount"], line.get("calls"), line.get("billed_seconds"))
                  for line in document.lines)
    return e.EDocument(
        kind=e.CREDIT_NOTE if note else e.INVOICE, number=document.number,
        issue_date=date.fromisoformat(document.issue_date),
        due_date=None if note or not document.due_date else date.fromisoformat(document.due_date),
        currency=document.currency,
        seller=e.Party(seller.name, tuple(seller.address_lines), seller.postal_code, seller.city, seller.country_code,
                       seller.tax_id, seller.email),
        seller_iban=seller.iban, seller_bic=seller.bic,
        buyer=e.Party(bill_to.get("name", ""), tuple(bill_to.get("address_lines", ())), bill_to.get("postal_code", ""),
                      bill_to.get("city", ""), bill_to.get("country_code", ""), bill_to.get("tax_id", ""),
                      bill_to.get("email", "")),
        vat_category=e.REVERSE_CHARGE if bill_to.get("vat_category") == VatCategory.REVERSE_CHARGE else e.STANDARD,
        tax_rate=document.tax_rate, lines=lines, subtotal=document.subtotal, tax=document.tax, total=document.total,
        period_start=date.fromisoformat(document.period["start"]), period_end=date.fromisoformat(document.period["end"]),
        preceding_number=document.invoice_number if note else "",
        preceding_issue_date=date.fromisoformat(document.invoice_issue_date) if note else None,
        note=document.reason if note else "")
