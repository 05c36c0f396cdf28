"""A reseller's Invoices tab: the list newest first, search, and Create Invoice (Calculate / Save)."""
import uuid
from datetime import timedelta
from urllib.parse import urlencode

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


PAYMENT_FILTERS = (("", "All"), ("unpaid", "Unpaid"), ("partially_paid", "Partially paid"), ("settled", "Settled"),
                   ("overdue", "Overdue"))


def payment_filter(ctx: Ctx, reseller) -> tuple[str, dict]:
    """The chosen payment filter and its request fields (payment_status, or overdue_on = today there)."""
    chosen = ctx.query.get("payment", "")
    features = ctx.console.features
    if chosen == "overdue" and features.overdue_filter:
        return chosen, {"overdue_on": parse_date(today_in(reseller.time_zone).isoformat(), "payment")}
    value = ctx.console.api.catalog.enum_value("ListInvoicesRequest", "payment_status",
                                               f"PAYMENT_STATUS_{chosen.upper()}") if chosen else None
    if value and features.payment_filter:
        return chosen, {"payment_status": value}
    return "", {}


def render_tab(ctx: Ctx, reseller, status: int = 200, **values):
    """One page of the list (PAGE_SIZE rows, newest first) with a link to the next page, as the API pages."""
    query = ctx.query.get("q", "").strip()
    after = ctx.query.get("after", "")
    chosen, filters = payment_filter(ctx, reseller)
    common = {"reseller_id": reseller.reseller_id, "page_size": PAGE_SIZE, "page_token": ctx.query.get("page", ""),
              "min_position": int(after) if after.isdigit() else 0, **filters}
    list_error = ""
    try:
        if query:
            page = ctx.call("InvoiceService", "SearchInvoices", query=query, **common)
        else:
            page = ctx.call("InvoiceService", "ListInvoices", **common)
        invoices, next_page = page.invoices, page.next_page_token
    except ApiError as e:
        invoices, next_page, list_error = [], "", e.message
    kept = {k: v for k, v in (("q", query), ("payment", chosen)) if v}
    next_url = "?" + urlencode({**kept, "page": next_page}) if next_page else ""
    first_url = ("?" + urlencode(kept)) if kept else "?"
    features = ctx.console.features
    filters_offered = [f for f in PAYMENT_FILTERS
                       if not f[0] or (features.overdue_filter if f[0] == "overdue" else features.payment_filter)]
    return ctx.render("reseller_invoices.html", status=status, title=reseller.name, nav="resellers", tab="invoices",
                      reseller=reseller, invoices=invoices, next_url=next_url, first_url=first_url, page_size=PAGE_SIZE,
                      paged=bool(ctx.query.get("page")), query=query, payment=chosen,
                      payment_filters=filters_offered if len(filters_offered) > 1 else [],
                      list_error=list_error, **values)
