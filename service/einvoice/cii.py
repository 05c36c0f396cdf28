"""UN/CEFACT CII D16B, Factur-X 1.0 / ZUGFeRD 2.x EN 16931 profile: the XML embedded as factur-x.xml."""

from __future__ import annotations

from datetime import date

from lxml import etree
from stdnum import iban as stdnum_iban

from service.einvoice import document as d
from service.einvoice._xml import Builder, serialize
from service.einvoice.rules import require_expressible

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
X = Builder(NS)


def cii_xml(doc: d.EDocument) -> bytes:
    """The CII XML of `doc`; raises rules.Inexpressible when `rules.check(doc)` is not empty."""
    require_expressible(doc)
    root = X.root("rsm:CrossIndustryInvoice")
    context = X.sub(root, "rsm:ExchangedDocumentContext")
    X.sub(X.sub(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", d.GUIDELINE)
    _exchanged_document(X.sub(root, "rsm:ExchangedDocument"), doc)
    transaction = X.sub(root, "rsm:SupplyChainTradeTransaction")
    for index, line in enumerate(d.effective_lines(doc), start=1):
        _line(X.sub(transaction, "ram:IncludedSupplyChainTradeLineItem"), doc, index, line)
    agreement = X.sub(transaction, "ram:ApplicableHeaderTradeAgreement")
    _party(X.sub(agreement, "ram:SellerTradeParty"), doc.seller)
    _party(X.sub(agreement, "ram:BuyerTradeParty"), doc.buyer)
    X.sub(transaction, "ram:ApplicableHeaderTradeDelivery")
    _settlement(X.sub(transaction, "ram:ApplicableHeaderTradeSettlement"), doc)
    return serialize(root)


def _date(parent: etree._Element, tag: str, value: date, prefix: str = "udt") -> None:
    X.sub(X.sub(parent, tag), f"{prefix}:DateTimeString", value.strftime("%Y%m%d"), format="102")


def _exchanged_document(element: etree._Element, doc: d.EDocument) -> None:
    X.sub(element, "ram:ID", doc.number)
    X.sub(element, "ram:TypeCode", d.TYPE_CODES[doc.kind])
    _date(element, "ram:IssueDateTime", doc.issue_date)
    if doc.note.strip():
        X.sub(X.sub(element, "ram:IncludedNote"), "ram:Content", doc.note.strip())


def _line(item: etree._Element, doc: d.EDocument, index: int, line: d.Line) -> None:
    X.sub(X.sub(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(index))
    product = X.sub(item, "ram:SpecifiedTradeProduct")
    X.sub(product, "ram:Name", line.destination_group)
    X.opt(product, "ram:Description", d.line_description(line))
    price = X.sub(X.sub(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
    X.sub(price, "ram:ChargeAmount", line.amount)
    X.sub(X.sub(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity", "1", unitCode=d.UNIT)
    settlement = X.sub(item, "ram:SpecifiedLineTradeSettlement")
    tax = X.sub(settlement, "ram:ApplicableTradeTax")
    X.sub(tax, "ram:TypeCode", "VAT")
    X.sub(tax, "ram:CategoryCode", doc.vat_category)
    X.sub(tax, "ram:RateApplicablePercent", d.rate_percent(doc))
    summation = X.sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
    X.sub(summation, "ram:LineTotalAmount", line.amount)


def _party(element: etree._Element, party: d.Party) -> None:
    X.sub(element, "ram:Name", party.name.strip())
    address = X.sub(element, "ram:PostalTradeAddress")
    X.opt(address, "ram:PostcodeCode", party.postal_code)
    for tag, text in zip(("ram:LineOne", "ram:LineTwo", "ram:LineThree"), d.address(party)):
        X.sub(address, tag, text)
    X.opt(address, "ram:CityName", party.city)
    X.sub(address, "ram:CountryID", party.country_code.strip())
    if party.email.strip():
        X.sub(X.sub(element, "ram:URIUniversalCommunication"), "ram:URIID", party.email.strip(), schemeID="EM")
    if party.tax_id.strip():
        X.sub(X.sub(element, "ram:SpecifiedTaxRegistration"), "ram:ID", party.tax_id.strip(), schemeID="VA")


def _settlement(element: etree._Element, doc: d.EDocument) -> None:
    X.sub(element, "ram:PaymentReference", doc.number)
    X.sub(element, "ram:InvoiceCurrencyCode", doc.currency)
    if d.pays_to_seller_account(doc):
        _payment_means(X.sub(element, "ram:SpecifiedTradeSettlementPaymentMeans"), doc)
    _vat_breakdown(X.sub(element, "ram:ApplicableTradeTax"), doc)
    if doc.period_start or doc.period_end:
        period = X.sub(element, "ram:BillingSpecifiedPeriod")
        if doc.period_start:
            _date(period, "ram:StartDateTime", doc.period_start)
        if doc.period_end:
            _date(period, "ram:EndDateTime", doc.period_end)
    terms = X.sub(element, "ram:SpecifiedTradePaymentTerms")
    if doc.due_date:
        _date(terms, "ram:DueDateDateTime", doc.due_date)
    else:
        X.sub(terms, "ram:Description", d.payment_terms(doc))
    _totals(X.sub(element, "ram:SpecifiedTradeSettlementHeaderMonetarySummation"), doc)
    if doc.kind == d.CREDIT_NOTE:
        reference = X.sub(element, "ram:InvoiceReferencedDocument")
        X.sub(reference, "ram:IssuerAssignedID", doc.preceding_number.strip())
        if doc.preceding_issue_date:
            _date(reference, "ram:FormattedIssueDateTime", doc.preceding_issue_date, prefix="qdt")


def _payment_means(element: etree._Element, doc: d.EDocument) -> None:
    X.sub(element, "ram:TypeCode", d.CREDIT_TRANSFER)
    account = X.sub(element, "ram:PayeePartyCreditorFinancialAccount")
    X.sub(account, "ram:IBANID", stdnum_iban.compact(doc.seller_iban))
    if doc.seller_bic.strip():
        institution = X.sub(element, "ram:PayeeSpecifiedCreditorFinancialInstitution")
        X.sub(institution, "ram:BICID", doc.seller_bic.replace(" ", "").upper())


def _vat_breakdown(tax: etree._Element, doc: d.EDocument) -> None:
    reverse = doc.vat_category == d.REVERSE_CHARGE
    X.sub(tax, "ram:CalculatedAmount", doc.tax)
    X.sub(tax, "ram:TypeCode", "VAT")
    if reverse:
        X.sub(tax, "ram:ExemptionReason", d.REVERSE_CHARGE_REASON)
    X.sub(tax, "ram:BasisAmount", doc.subtotal)
    X.sub(tax, "ram:CategoryCode", doc.vat_category)
    if reverse:
        X.sub(tax, "ram:ExemptionReasonCode", d.REVERSE_CHARGE_CODE)
    X.sub(tax, "ram:RateApplicablePercent", d.rate_percent(doc))


def _totals(summation: etree._Element, doc: d.EDocument) -> None:
    X.sub(summation, "ram:LineTotalAmount", doc.subtotal)
    X.sub(summation, "ram:TaxBasisTotalAmount", doc.subtotal)
    X.sub(summation, "ram:TaxTotalAmount", doc.tax, currencyID=doc.currency)
    X.sub(summation, "ram:GrandTotalAmount", doc.total)
    X.sub(summation, "ram:DuePayableAmount", doc.total)
