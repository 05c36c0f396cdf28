"""UBL 2.1 Invoice / CreditNote with the Peppol BIS Billing 3.0 customization of EN 16931."""

from __future__ import annotations

from lxml import etree
from stdnum import iban as stdnum_iban

from service.einvoice import document as d
from service.einvoice._xml import Builder, serialize
from service.einvoice.rules import require_expressible

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
ROOTS = {  # kind -> (root namespace, root tag, type code tag, line tag, quantity tag)
    d.INVOICE: ("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2", "Invoice",
                "InvoiceTypeCode", "InvoiceLine", "InvoicedQuantity"),
    d.CREDIT_NOTE: ("urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2", "CreditNote",
                    "CreditNoteTypeCode", "CreditNoteLine", "CreditedQuantity"),
}


def ubl_xml(doc: d.EDocument) -> bytes:
    """The UBL XML of `doc`; raises rules.Inexpressible when `rules.check(doc)` is not empty."""
    require_expressible(doc)
    namespace, root_tag, type_tag, line_tag, quantity_tag = ROOTS[doc.kind]
    X = Builder({None: namespace, "cac": CAC, "cbc": CBC})
    root = X.root(root_tag)
    _header(X, root, doc, type_tag)
    _party(X, X.sub(X.sub(root, "cac:AccountingSupplierParty"), "cac:Party"), doc.seller)
    _party(X, X.sub(X.sub(root, "cac:AccountingCustomerParty"), "cac:Party"), doc.buyer)
    _payment(X, root, doc)
    _tax_total(X, root, doc)
    _totals(X, X.sub(root, "cac:LegalMonetaryTotal"), doc)
    for index, line in enumerate(d.effective_lines(doc), start=1):
        _line(X, X.sub(root, f"cac:{line_tag}"), doc, index, line, quantity_tag)
    return serialize(root)


def _header(X: Builder, root: etree._Element, doc: d.EDocument, type_tag: str) -> None:
    X.sub(root, "cbc:CustomizationID", d.PEPPOL_CUSTOMIZATION)
    X.sub(root, "cbc:ProfileID", d.PEPPOL_PROFILE)
    X.sub(root, "cbc:ID", doc.number)
    X.sub(root, "cbc:IssueDate", doc.issue_date.isoformat())
    if doc.kind == d.INVOICE and doc.due_date:
        X.sub(root, "cbc:DueDate", doc.due_date.isoformat())
    X.sub(root, f"cbc:{type_tag}", d.TYPE_CODES[doc.kind])
    X.opt(root, "cbc:Note", doc.note)
    X.sub(root, "cbc:DocumentCurrencyCode", doc.currency)
    if doc.period_start or doc.period_end:
        period = X.sub(root, "cac:InvoicePeriod")
        if doc.period_start:
            X.sub(period, "cbc:StartDate", doc.period_start.isoformat())
        if doc.period_end:
            X.sub(period, "cbc:EndDate", doc.period_end.isoformat())
    if doc.kind == d.CREDIT_NOTE:
        reference = X.sub(X.sub(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        X.sub(reference, "cbc:ID", doc.preceding_number.strip())
        if doc.preceding_issue_date:
            X.sub(reference, "cbc:IssueDate", doc.preceding_issue_date.isoformat())


def _party(X: Builder, party_element: etree._Element, party: d.Party) -> None:
    if party.email.strip():
        X.sub(party_element, "cbc:EndpointID", party.email.strip(), schemeID="EM")
    address = X.sub(party_element, "cac:PostalAddress")
    lines = d.address(party)
    for tag, text in zip(("cbc:StreetName", "cbc:AdditionalStreetName"), lines):
        X.sub(address, tag, text)
    X.opt(address, "cbc:CityName", party.city)
    X.opt(address, "cbc:PostalZone", party.postal_code)
    if len(lines) > 2:
        X.sub(X.sub(address, "cac:AddressLine"), "cbc:Line", lines[2])
    X.sub(X.sub(address, "cac:Country"), "cbc:IdentificationCode", party.country_code.strip())
    if party.tax_id.strip():
        scheme = X.sub(party_element, "cac:PartyTaxScheme")
        X.sub(scheme, "cbc:CompanyID", party.tax_id.strip())
        X.sub(X.sub(scheme, "cac:TaxScheme"), "cbc:ID", "VAT")
    X.sub(X.sub(party_element, "cac:PartyLegalEntity"), "cbc:RegistrationName", party.name.strip())


def _payment(X: Builder, root: etree._Element, doc: d.EDocument) -> None:
    if d.pays_to_seller_account(doc):
        means = X.sub(root, "cac:PaymentMeans")
        X.sub(means, "cbc:PaymentMeansCode", d.CREDIT_TRANSFER)
        X.sub(means, "cbc:PaymentID", doc.number)
        account = X.sub(means, "cac:PayeeFinancialAccount")
        X.sub(account, "cbc:ID", stdnum_iban.compact(doc.seller_iban))
        if doc.seller_bic.strip():
            branch = X.sub(account, "cac:FinancialInstitutionBranch")
            X.sub(branch, "cbc:ID", doc.seller_bic.replace(" ", "").upper())
    if doc.kind == d.CREDIT_NOTE or not doc.due_date:
        X.sub(X.sub(root, "cac:PaymentTerms"), "cbc:Note", _terms(doc))


def _terms(doc: d.EDocument) -> str:
    """BT-20; a credit note's due date (UBL CreditNote has no header DueDate) is stated here too."""
    if doc.due_date:
        return f"Due on {doc.due_date.isoformat()}."
    return d.payment_terms(doc)


def _tax_category(X: Builder, parent: etree._Element, tag: str, doc: d.EDocument, reasons: bool) -> None:
    category = X.sub(parent, tag)
    X.sub(category, "cbc:ID", doc.vat_category)
    X.sub(category, "cbc:Percent", d.rate_percent(doc))
    if reasons and doc.vat_category == d.REVERSE_CHARGE:
        X.sub(category, "cbc:TaxExemptionReasonCode", d.REVERSE_CHARGE_CODE)
        X.sub(category, "cbc:TaxExemptionReason", d.REVERSE_CHARGE_REASON)
    X.sub(X.sub(category, "cac:TaxScheme"), "cbc:ID", "VAT")


def _tax_total(X: Builder, root: etree._Element, doc: d.EDocument) -> None:
    total = X.sub(root, "cac:TaxTotal")
    X.sub(total, "cbc:TaxAmount", doc.tax, currencyID=doc.currency)
    subtotal = X.sub(total, "cac:TaxSubtotal")
    X.sub(subtotal, "cbc:TaxableAmount", doc.subtotal, currencyID=doc.currency)
    X.sub(subtotal, "cbc:TaxAmount", doc.tax, currencyID=doc.currency)
    _tax_category(X, subtotal, "cac:TaxCategory", doc, reasons=True)


def _totals(X: Builder, element: etree._Element, doc: d.EDocument) -> None:
    X.sub(element, "cbc:LineExtensionAmount", doc.subtotal, currencyID=doc.currency)
    X.sub(element, "cbc:TaxExclusiveAmount", doc.subtotal, currencyID=doc.currency)
    X.sub(element, "cbc:TaxInclusiveAmount", doc.total, currencyID=doc.currency)
    X.sub(element, "cbc:PayableAmount", doc.total, currencyID=doc.currency)


def _line(X: Builder, element: etree._Element, doc: d.EDocument, index: int, line: d.Line,
          quantity_tag: str) -> None:
    X.sub(element, "cbc:ID", str(index))
    X.sub(element, f"cbc:{quantity_tag}", "1", unitCode=d.UNIT)
    X.sub(element, "cbc:LineExtensionAmount", line.amount, currencyID=doc.currency)
    item = X.sub(element, "cac:Item")
    X.opt(item, "cbc:Description", d.line_description(line))
    X.sub(item, "cbc:Name", line.destination_group)
    _tax_category(X, item, "cac:ClassifiedTaxCategory", doc, reasons=False)
    X.sub(X.sub(element, "cac:Price"), "cbc:PriceAmount", line.amount, currencyID=doc.currency)
