"""A reseller's Invoices tab: the list newest first, search, and Create Invoice (Calculate / Save)."""
import uuid
from datetime import timedelta

from service.console.api import ApiError
from service.console.formats import FormError, parse_date, seg, today_in
from service.console.web import Ctx, Routes
from service.console.views.resellers import get_reseller

routes = Routes()
PAGE_SIZE = 50


@routes.get("/resellers/{rid:path}/invoices")
def invoices_tab(ctx: Ctx, rid: str):
    reseller = get_reseller(ctx, rid)
    create = None
    if ctx.query.get("create") and ctx.session.can_write:
        last_month_end = today_in(reseller.time_zone).replace(day=1) - timedelta(days=1)
        create = {"start": last_month_end.replace(day=1).isoformat(), "end": last_month_end.isoformat(),
                  "request_id": str(uuid.uuid4())}
    return render_tab(ctx, reseller, create=create)


@routes.post("/resellers/{rid:path}/invoices/new")
def create_invoice(ctx: Ctx, rid: str):
    """One form, two buttons: "Calculate" previews (writes nothing), "Save" issues it (CreateInvoice)."""
    reseller = get_reseller(ctx, rid)
    form = {"start": ctx.form.get("start", ""), "end": ctx.form.get("end", ""),
            "request_id": ctx.form.get("request_id") or str(uuid.uuid4())}
    try:
        period = ctx.message("Period", start_date=parse_date(form["start"], "start"),
                             end_date=parse_date(form["end"], "end"))
        if ctx.form.get("action") != "save":
            draft = ctx.call("InvoiceService", "CalculateInvoice", reseller_id=rid, period=period)
            return render_tab(ctx, reseller, create=form, draft=draft)
        invoice = ctx.call("InvoiceService", "CreateInvoice", reseller_id=rid, period=period,
                           request_id=form["request_id"])
    except FormError as e:
        return render_tab(ctx, reseller, create=form, error=e.message, errors={e.field: e.message}, status=422)
    except ApiError as e:
        if e.code.name == "ALREADY_EXISTS":  # this form was used for another period: the next Save is new
            form["request_id"] = str(uuid.uuid4())
        errors = {k: v for k, v in (("start", e.fields.get("period.start_date")),
                                    ("end", e.fields.get("period.end_date"))) if v}
        return render_tab(ctx, reseller, create=form, error=e.message, errors=errors, status=e.http_status)
    return ctx.redirect(f"/resellers/{seg(rid)}/invoices?after={invoice.position}",
                        flash=f"Invoice {invoice.number} issued: {invoice.total} {invoice.currency}.")


def render_tab(ctx: Ctx, reseller, status: int = 200, **values):
    query = ctx.query.get("q", "").strip()
    after = ctx.query.get("after", "")
    common = {"reseller_id": reseller.reseller_id, "page_size": PAGE_SIZE, "page_token": ctx.query.get("page", ""),
              "min_position": int(after) if after.isdigit() else 0}
    list_error = ""
    try:
        if query:
            page = ctx.call("InvoiceService", "SearchInvoices", query=query, **common)
        else:
            page = ctx.call("InvoiceService", "ListInvoices", **common)
        invoices, next_page = page.invoices, page.next_page_token
    except ApiError as e:
        invoices, next_page, list_error = [], "", e.message
    return ctx.render("reseller_invoices.html", status=status, title=reseller.name, nav="resellers", tab="invoices",
                      reseller=reseller, invoices=invoices, next_page=next_page, query=query,
                      list_error=list_error, **values)
