"""View Invoice: lines, totals, payments, credit notes, history, downloads and the actions this release offers.

DOWNLOADS and ACTIONS are the one place to add a button: each names the feature it needs
(service/console/features.py), so a later RPC turns it on by itself; an action also says for which
invoices it makes sense (e.g. "Record payment" only while something is owed). The server decides
in the end: a POST for an action the page did not offer gets the server's answer in plain words.
"""
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from starlette.responses import Response

from service.console import fields as form_fields
from service.console.api import ApiError
from service.console.formats import FormError, parse_date, seg, today_in
from service.console.web import Ctx, Routes, attachment

routes = Routes()


@dataclass(frozen=True)
class Download:
    label: str
    feature: str | None  # None = always there
    href: str  # relative to /invoices/{id}/ or /credit-notes/{id}/


@dataclass(frozen=True)
class Action:
    label: str
    feature: str | None
    key: str  # form name, POST /invoices/{id}/{key}, partial actions/{key}.html
    style: str = "primary"  # primary | secondary | danger
    when: str = "issued"  # issued | owes | overpaid | voidable: see offered()


DOWNLOADS = (Download("Download PDF", None, "pdf"), Download("Factur-X PDF", "facturx_pdf", "pdf?format=facturx"),
             Download("UBL XML", "ubl_xml", "xml?syntax=ubl"), Download("CII XML", "cii_xml", "xml?syntax=cii"))
CREDIT_NOTE_DOWNLOADS = (Download("PDF", "credit_note_pdf", "pdf"),
                         Download("Factur-X PDF", "credit_note_facturx", "pdf?format=facturx"),
                         Download("UBL XML", "credit_note_xml", "xml?syntax=ubl"),
                         Download("CII XML", "credit_note_xml", "xml?syntax=cii"))
ACTIONS = (Action("Record payment", "record_payment", "payment", when="owes"),
           Action("Credit note", "credit_note", "credit-note", "secondary"),
           Action("Record refund", "record_refund", "refund", "secondary", when="overpaid"),
           Action("Void", None, "void", "danger", when="voidable"))
XML_SYNTAX = {"ubl": "XML_SYNTAX_UBL", "cii": "XML_SYNTAX_CII"}
XML_FEATURE = {"ubl": "ubl_xml", "cii": "cii_xml"}


def available(ctx: Ctx, items):
    return [i for i in items if i.feature is None or getattr(ctx.console.features, i.feature)]


def status_is(ctx: Ctx, invoice, name: str) -> bool:
    return invoice.status == ctx.console.api.catalog.enum_value("Invoice", "status", f"INVOICE_STATUS_{name}")


def amount_of(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def offered(ctx: Ctx, action: Action, invoice) -> bool:
    """Whether the invoice page offers `action` for this invoice (unknown amounts: the server decides)."""
    outstanding = amount_of(getattr(invoice, "outstanding", ""))
    issued = status_is(ctx, invoice, "ISSUED")
    if action.when == "owes":
        return issued and (outstanding is None or outstanding > 0)
    if action.when == "overpaid":
        return not status_is(ctx, invoice, "VOID") and outstanding is not None and outstanding < 0
    if action.when == "voidable":  # void is for invoices never paid nor credited (SPEC §13, §14)
        return issued and not any(amount_of(getattr(invoice, f, "")) for f in ("paid_total", "credited_total"))
    return issued


def load(ctx: Ctx, iid: str):
    return ctx.call("InvoiceService", "GetInvoice", invoice_id=iid)


@routes.get("/invoices/{iid}")
def view_invoice(ctx: Ctx, iid: str):
    return render_invoice(ctx, load(ctx, iid))


def render_invoice(ctx: Ctx, invoice, status: int = 200, error: str = "", missing=(), **values):
    history = ctx.call("InvoiceService", "GetInvoiceHistory", invoice_id=invoice.invoice_id)
    extra = {}
    for feature, key, service, method, plural in (
            ("list_payments", "payments", "PaymentService", "ListPayments", "payments"),
            ("list_credit_notes", "credit_notes", "CreditNoteService", "ListCreditNotes", "credit_notes")):
        if getattr(ctx.console.features, feature):
            try:
                extra[key] = getattr(ctx.call(service, method, invoice_id=invoice.invoice_id, page_size=100), plural)
            except ApiError as e:
                error = error or e.message
    failed = values.get("failed")  # the action whose form came back with an error stays on the page
    actions = [a for a in available(ctx, ACTIONS)
               if ctx.session.can_write and (offered(ctx, a, invoice) or a.key == failed)]
    today = today_in(invoice.bill_to.time_zone).isoformat()
    return ctx.render("invoice.html", status=status, title=f"Invoice {invoice.number}", nav="resellers",
                      invoice=invoice, history=history.events, downloads=available(ctx, DOWNLOADS),
                      credit_note_downloads=available(ctx, CREDIT_NOTE_DOWNLOADS), actions=actions, error=error,
                      missing=missing, request_id=str(uuid.uuid4()), today=today, refund_amount=refund_amount(invoice),
                      **extra, **values)


def refund_amount(invoice) -> str:
    outstanding = amount_of(getattr(invoice, "outstanding", ""))
    return str(-outstanding) if outstanding is not None and outstanding < 0 else ""


# ---- downloads: PDF, Factur-X PDF, UBL / CII XML of invoices and credit notes --------------------------
@routes.get("/invoices/{iid}/pdf")
def download_pdf(ctx: Ctx, iid: str):
    return render_pdf(ctx, "invoice", iid)


@routes.get("/invoices/{iid}/xml")
def download_xml(ctx: Ctx, iid: str):
    return export_xml(ctx, "invoice", iid)


@routes.get("/credit-notes/{cid}/pdf")
def download_credit_note_pdf(ctx: Ctx, cid: str):
    if not ctx.console.features.credit_note_pdf:
        return Response("Not found", status_code=404)
    return render_pdf(ctx, "credit_note", cid)


@routes.get("/credit-notes/{cid}/xml")
def download_credit_note_xml(ctx: Ctx, cid: str):
    if not ctx.console.features.credit_note_xml:
        return Response("Not found", status_code=404)
    return export_xml(ctx, "credit_note", cid)


def render_pdf(ctx: Ctx, kind: str, doc_id: str):
    facturx = ctx.query.get("format") == "facturx"
    feature = "facturx_pdf" if kind == "invoice" else "credit_note_facturx"
    if facturx and not getattr(ctx.console.features, feature):
        return Response("Not found", status_code=404)
    service, method, request = (("InvoiceService", "RenderInvoicePdf", "RenderInvoicePdfRequest") if kind == "invoice"
                                else ("CreditNoteService", "RenderCreditNotePdf", "RenderCreditNotePdfRequest"))
    fields = {f"{kind}_id": doc_id}
    if facturx:
        fields["format"] = ctx.console.api.catalog.enum_value(request, "format", "PDF_FORMAT_FACTURX")
    try:
        number = document_number(ctx, kind, doc_id)
        pdf = ctx.render_call(service, method, **fields)
    except ApiError as e:
        return download_failed(ctx, kind, doc_id, e, "Factur-X PDF" if facturx else "PDF")
    name = "invoice" if kind == "invoice" else "credit-note"
    return attachment(pdf.content, "application/pdf", f"{name}-{number}{'-facturx' if facturx else ''}.pdf")


def export_xml(ctx: Ctx, kind: str, doc_id: str):
    syntax = ctx.query.get("syntax", "")
    if syntax not in XML_SYNTAX or not getattr(ctx.console.features, XML_FEATURE[syntax]):
        return Response("Not found", status_code=404)
    try:
        xml = ctx.render_call("InvoiceService", "ExportDocumentXml", **{f"{kind}_id": doc_id}, syntax=ctx.console.api
                              .catalog.enum_value("ExportDocumentXmlRequest", "syntax", XML_SYNTAX[syntax]))
    except ApiError as e:
        return download_failed(ctx, kind, doc_id, e, f"{syntax.upper()} XML")
    return attachment(xml.content, "application/xml", xml.filename or f"{kind}-{doc_id}-{syntax}.xml")


def document_number(ctx: Ctx, kind: str, doc_id: str) -> str:
    if kind == "invoice":
        return load(ctx, doc_id).number
    return ctx.call("CreditNoteService", "GetCreditNote", credit_note_id=doc_id).number


def download_failed(ctx: Ctx, kind: str, doc_id: str, error: ApiError, what: str):
    """The invoice page (of the credit note's invoice) with the error, and the missing e-invoice data listed."""
    if kind == "invoice":
        invoice, document = load(ctx, doc_id), "invoice"
    else:
        note = ctx.call("CreditNoteService", "GetCreditNote", credit_note_id=doc_id)
        invoice, document = load(ctx, note.invoice_id), f"credit note {note.number}"
    missing = missing_data(error, invoice)
    message = error.message
    if missing:
        message = (f"The {what} of this {document} cannot be produced: the e-invoice standard (EN 16931) needs "
                   "the details below, and the document does not have them.")
    return render_invoice(ctx, invoice, status=error.http_status, error=message, missing=missing)


@dataclass(frozen=True)
class Missing:
    label: str  # "Seller › Country code"
    description: str  # the server's words
    where: str  # where to complete it
    href: str


def missing_data(error: ApiError, invoice) -> list[Missing]:
    """The fields a google.rpc.PreconditionFailure names (e.g. seller.country_code), in words, with where
    to complete them: the Seller page, or the reseller's edit page (bill_to = the reseller as billed)."""
    found = []
    for subject, description in error.fields.items():
        party, _, name = subject.partition(".")
        if party == "seller":
            specs, where, href = form_fields.SELLER, "Seller", "/seller"
        elif party in ("bill_to", "buyer", "reseller"):
            specs, where = form_fields.RESELLER, invoice.bill_to.name or invoice.reseller_id
            href = f"/resellers/{seg(invoice.reseller_id)}/edit"
        else:
            specs, where, href = (), "", ""
        label = next((s.label for s in specs if s.name == name), name.replace("_", " ").capitalize() or subject)
        party_label = {"seller": "Seller", "bill_to": "Bill to", "buyer": "Bill to", "reseller": "Bill to"}.get(party)
        found.append(Missing(f"{party_label} › {label}" if party_label else label, description, where, href))
    return found


# ---- actions ------------------------------------------------------------------------------------------
@routes.post("/invoices/{iid}/void")
def void(ctx: Ctx, iid: str):
    def call():
        invoice = ctx.call("InvoiceService", "VoidInvoice", invoice_id=iid, reason=text(ctx, "reason"))
        return f"Invoice voided; its number {invoice.number} is kept and never reused."
    return act(ctx, iid, "void", call)


@routes.post("/invoices/{iid}/payment")
def record_payment(ctx: Ctx, iid: str):
    return record_money(ctx, iid, "RecordPayment", "received_on", "payment",
                        lambda payment: f"Payment of {payment.amount} {payment.currency} recorded.")


@routes.post("/invoices/{iid}/refund")
def record_refund(ctx: Ctx, iid: str):
    return record_money(ctx, iid, "RecordRefund", "refunded_on", "refund",
                        lambda refund: f"Refund of {refund.amount.lstrip('-')} {refund.currency} recorded.")


def record_money(ctx: Ctx, iid: str, method: str, day_field: str, form: str, said):
    """RecordPayment / RecordRefund from their form: amount, the day (`day_field`), reference."""
    def call():
        request = ctx.new("PaymentService", method, invoice_id=iid, amount=text(ctx, "amount"),
                          reference=text(ctx, "reference"), request_id=ctx.form.get("request_id", ""))
        getattr(request, day_field).CopyFrom(parse_date(text(ctx, day_field), day_field))
        return said(ctx.call("PaymentService", method, request))
    return act(ctx, iid, form, call)


@routes.post("/invoices/{iid}/credit-note")
def credit_note(ctx: Ctx, iid: str):
    sent: list[str] = []  # the groups of the request's lines, in order: the server names lines[i]

    def call():
        request = ctx.new("CreditNoteService", "IssueCreditNote", invoice_id=iid, reason=text(ctx, "reason"),
                          request_id=ctx.form.get("request_id", ""))
        groups, amounts = as_list(ctx.form.get("line_group")), as_list(ctx.form.get("line_amount"))
        for group, amount in zip(groups, amounts):
            if amount.strip():
                request.lines.add(destination_group=group, amount=amount.strip())
                sent.append(group)
        note = ctx.call("CreditNoteService", "IssueCreditNote", request)
        return f"Credit note {note.number} issued: {note.total} {note.currency}."

    def input_name(path: str) -> str:  # lines[1].amount -> line:<group> (the row's input)
        if path.startswith("lines["):
            index = path[len("lines["):].partition("]")[0]
            if index.isdigit() and int(index) < len(sent):
                return f"line:{sent[int(index)]}"
        return path
    return act(ctx, iid, "credit-note", call, input_name=input_name)


def act(ctx: Ctx, iid: str, key: str, call, input_name=None):
    """Run an action; on an error the page comes back with the form open, the error beside it and
    the typed values kept (the same request_id: a resubmit cannot record twice)."""
    if key not in {a.key for a in available(ctx, ACTIONS)}:
        return Response("Not found", status_code=404)
    try:
        said = call()
    except (FormError, ApiError) as e:
        status = e.http_status if isinstance(e, ApiError) else 422
        paths = {e.field: e.message} if isinstance(e, FormError) else e.fields
        name = input_name or (lambda path: path.split(".")[-1])
        return render_invoice(ctx, load(ctx, iid), status=status, failed=key, form_error=e.message,
                              form_errors={name(path): words for path, words in paths.items()})
    return ctx.redirect(f"/invoices/{iid}", flash=said)


def text(ctx: Ctx, name: str) -> str:
    value = ctx.form.get(name, "")
    return (value if isinstance(value, str) else value[-1]).strip()


def as_list(value) -> list[str]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
