"""View Invoice: lines, totals, history, downloads and the actions this release offers.

DOWNLOADS and ACTIONS are the one place to add a button: each names the feature it needs
(service/console/features.py), so a later RPC turns it on by itself.
"""
import uuid
from dataclasses import dataclass

from starlette.responses import Response

from service.console.api import ApiError
from service.console.formats import FormError, parse_date
from service.console.web import Ctx, Routes, attachment

routes = Routes()


@dataclass(frozen=True)
class Download:
    label: str
    feature: str | None  # None = always there
    href: str  # relative to /invoices/{id}/


@dataclass(frozen=True)
class Action:
    label: str
    feature: str | None
    key: str  # form name, POST /invoices/{id}/{key}, partial actions/{key}.html
    style: str = "primary"


DOWNLOADS = (Download("Download PDF", None, "pdf"), Download("Factur-X PDF", "facturx_pdf", "pdf?format=facturx"),
             Download("UBL XML", "ubl_xml", "xml?syntax=ubl"), Download("CII XML", "cii_xml", "xml?syntax=cii"))
ACTIONS = (Action("Record payment", "record_payment", "payment"), Action("Credit note", "credit_note", "credit-note"),
           Action("Void", None, "void", "danger"))


def available(ctx: Ctx, items):
    return [i for i in items if i.feature is None or getattr(ctx.console.features, i.feature)]


def load(ctx: Ctx, iid: str):
    return ctx.call("InvoiceService", "GetInvoice", invoice_id=iid)


@routes.get("/invoices/{iid}")
def view_invoice(ctx: Ctx, iid: str):
    return render_invoice(ctx, load(ctx, iid))


def render_invoice(ctx: Ctx, invoice, status: int = 200, error: str = "", **values):
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
    issued = invoice.status == 1  # INVOICE_STATUS_ISSUED
    actions = [a for a in available(ctx, ACTIONS) if issued and ctx.session.can_write]
    return ctx.render("invoice.html", status=status, title=f"Invoice {invoice.number}", nav="resellers",
                      invoice=invoice, history=history.events, downloads=available(ctx, DOWNLOADS), actions=actions,
                      error=error, request_id=str(uuid.uuid4()), **extra, **values)


@routes.get("/invoices/{iid}/pdf")
def download_pdf(ctx: Ctx, iid: str):
    fields = {"invoice_id": iid}
    suffix = ""
    if ctx.query.get("format") == "facturx" and ctx.console.features.facturx_pdf:
        fields["format"] = ctx.console.api.catalog.enum_value("RenderInvoicePdfRequest", "format", "PDF_FORMAT_FACTURX")
        suffix = "-facturx"
    try:
        invoice = load(ctx, iid)
        pdf = ctx.render_call("InvoiceService", "RenderInvoicePdf", **fields)
    except ApiError as e:
        return download_failed(ctx, iid, e)
    return attachment(pdf.content, "application/pdf", f"invoice-{invoice.number}{suffix}.pdf")


@routes.get("/invoices/{iid}/xml")
def download_xml(ctx: Ctx, iid: str):
    syntax = {"ubl": "XML_SYNTAX_UBL", "cii": "XML_SYNTAX_CII"}.get(ctx.query.get("syntax", ""))
    if not syntax or not ctx.console.features.ubl_xml:
        return Response("Not found", status_code=404)
    try:
        xml = ctx.render_call("InvoiceService", "ExportDocumentXml", invoice_id=iid, syntax=ctx.console.api.catalog
                              .enum_value("ExportDocumentXmlRequest", "syntax", syntax))
    except ApiError as e:
        return download_failed(ctx, iid, e)
    return attachment(xml.content, "application/xml", xml.filename or f"invoice-{iid}.xml")


def download_failed(ctx: Ctx, iid: str, error: ApiError):
    return render_invoice(ctx, load(ctx, iid), status=error.http_status, error=error.message)


@routes.post("/invoices/{iid}/void")
def void(ctx: Ctx, iid: str):
    return act(ctx, iid, "void", lambda: ctx.call("InvoiceService", "VoidInvoice", invoice_id=iid,
                                                  reason=ctx.form.get("reason", "").strip()), "Invoice voided.")


@routes.post("/invoices/{iid}/payment")
def record_payment(ctx: Ctx, iid: str):
    def call():
        request = ctx.new("PaymentService", "RecordPayment", invoice_id=iid, amount=ctx.form.get("amount", "").strip(),
                          reference=ctx.form.get("reference", "").strip(), request_id=ctx.form.get("request_id", ""))
        request.received_on.CopyFrom(parse_date(ctx.form.get("received_on", ""), "received_on"))
        return ctx.call("PaymentService", "RecordPayment", request)
    return act(ctx, iid, "payment", call, "Payment recorded.")


@routes.post("/invoices/{iid}/credit-note")
def credit_note(ctx: Ctx, iid: str):
    def call():
        request = ctx.new("CreditNoteService", "IssueCreditNote", invoice_id=iid,
                          reason=ctx.form.get("reason", "").strip(), request_id=ctx.form.get("request_id", ""))
        groups, amounts = as_list(ctx.form.get("line_group")), as_list(ctx.form.get("line_amount"))
        for group, amount in zip(groups, amounts):
            if amount.strip():
                request.lines.add(destination_group=group, amount=amount.strip())
        return ctx.call("CreditNoteService", "IssueCreditNote", request)
    return act(ctx, iid, "credit-note", call, "Credit note issued.")


def act(ctx: Ctx, iid: str, key: str, call, done: str):
    if key not in {a.key for a in available(ctx, ACTIONS)}:
        return Response("Not found", status_code=404)
    try:
        call()
    except (FormError, ApiError) as e:
        status = e.http_status if isinstance(e, ApiError) else 422
        return render_invoice(ctx, load(ctx, iid), status=status, failed=key, form_error=e.message)
    return ctx.redirect(f"/invoices/{iid}", flash=done)


def as_list(value) -> list[str]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
