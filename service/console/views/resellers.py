"""Resellers list, create / edit, and the reseller page's Details, Usage and Statement tabs."""
import grpc
from starlette.responses import Response

from service.console import fields
from service.console.api import ApiError
from service.console.formats import FormError, iso_date, parse_date, today_in
from service.console.formats import seg as quote
from service.console.web import Ctx, Routes

routes = Routes()
fallback = Routes()  # served after every other module's routes: /resellers/{rid:path} would shadow them


BUILT_IN_SERIES = {"invoice_series_id": "invoices", "credit_note_series_id": "credit-notes"}  # SPEC §12


def reseller_class(ctx: Ctx):
    return ctx.console.api.catalog.request_class("ResellerService", "UpsertReseller")


def get_reseller(ctx: Ctx, rid: str):
    return ctx.call("ResellerService", "GetReseller", reseller_id=rid)


@routes.get("/resellers")
def list_resellers(ctx: Ctx):
    page = ctx.call("ResellerService", "ListResellers", page_size=100, page_token=ctx.query.get("page", ""))
    return ctx.render("resellers.html", title="Resellers", nav="resellers", resellers=page.resellers,
                      next_page=page.next_page_token)


@routes.get("/resellers/new", write=True)
def new_reseller(ctx: Ctx):
    return edit_form(ctx, None, {"currency": "EUR", "time_zone": "UTC", "tax_rate": "0.19", **BUILT_IN_SERIES})


@routes.post("/resellers/new")
def create_reseller(ctx: Ctx):
    rid = (ctx.form.get("reseller_id") or "").strip()
    if rid:
        try:
            get_reseller(ctx, rid)
            return edit_form(ctx, None, ctx.form, error=f"A reseller with id {rid!r} already exists; "
                             "open it and edit it instead.", errors={"reseller_id": "already exists"})
        except ApiError as e:
            if e.code != grpc.StatusCode.NOT_FOUND:
                return edit_form(ctx, None, ctx.form, error=e.message)
    return save(ctx, None)


@routes.get("/resellers/{rid:path}/edit", write=True)
def edit_reseller(ctx: Ctx, rid: str):
    reseller = get_reseller(ctx, rid)
    return edit_form(ctx, reseller, fields.to_form(reseller, fields.RESELLER))


@routes.post("/resellers/{rid:path}/edit")
def update_reseller(ctx: Ctx, rid: str):
    ctx.form["reseller_id"] = rid  # the id of an existing reseller is fixed
    return save(ctx, get_reseller(ctx, rid))


def save(ctx: Ctx, existing):
    try:
        message = fields.from_form(ctx.form, fields.RESELLER, reseller_class(ctx))
        stored = ctx.call("ResellerService", "UpsertReseller", message)
    except FormError as e:
        return edit_form(ctx, existing, ctx.form, error=e.message, errors={e.field: e.message}, status=422)
    except ApiError as e:
        return edit_form(ctx, existing, ctx.form, error=e.message,
                         errors=fields.field_errors(e.fields, fields.RESELLER), status=e.http_status)
    return ctx.redirect(f"/resellers/{quote(stored.reseller_id)}/details", flash=f"Reseller {stored.name} saved.")


def edit_form(ctx: Ctx, reseller, values: dict, error: str = "", errors: dict | None = None, status: int = 200):
    cls = reseller_class(ctx)
    specs = fields.present(fields.RESELLER, cls)
    options = {s.name: fields.enum_options(cls, s) for s in specs if s.kind == "enum"}
    if ctx.console.features.series and any(s.kind == "series" for s in specs):
        try:
            series = ctx.call("NumberingService", "ListSeries", page_size=500).series
        except ApiError:
            series = []  # the inputs stay free text
        for spec in specs:
            if spec.kind == "series" and series:
                current = values.get(spec.name, "")
                options[spec.name] = fields.series_options(series, spec, current if isinstance(current, str) else "")
    title = f"Edit {reseller.name}" if reseller else "Create Reseller"
    return ctx.render("reseller_form.html", status=status, title=title, nav="resellers", reseller=reseller,
                      specs=specs, options=options, values=values, error=error, errors=errors or {})


@routes.get("/resellers/{rid:path}/details")
def details(ctx: Ctx, rid: str):
    reseller = get_reseller(ctx, rid)
    specs = fields.present(fields.RESELLER, type(reseller))
    rows = [(s, fields.display(reseller, s)) for s in specs]
    return ctx.render("reseller_details.html", title=reseller.name, nav="resellers", tab="details",
                      reseller=reseller, rows=rows)


@routes.get("/resellers/{rid:path}/usage")
def usage(ctx: Ctx, rid: str):
    reseller = get_reseller(ctx, rid)
    today = today_in(reseller.time_zone)
    start = ctx.query.get("start") or today.replace(day=1).isoformat()
    end = ctx.query.get("end") or today.isoformat()
    summary, error = None, ""
    try:
        period = ctx.message("Period", start_date=parse_date(start, "start"), end_date=parse_date(end, "end"))
        summary = ctx.call("UsageService", "GetUsageSummary", reseller_id=rid, period=period)
    except (FormError, ApiError) as e:
        error = e.message
    return ctx.render("reseller_usage.html", title=reseller.name, nav="resellers", tab="usage", reseller=reseller,
                      summary=summary, start=start, end=end, error=error)


@routes.get("/resellers/{rid:path}/statement")
def statement(ctx: Ctx, rid: str):
    if not ctx.console.features.statement:
        return Response("Not found", status_code=404)
    reseller = get_reseller(ctx, rid)
    as_of = ctx.query.get("as_of", "")
    result, error = None, ""
    try:
        request = ctx.new("PaymentService", "GetResellerStatement", reseller_id=rid)
        if as_of:
            request.as_of.CopyFrom(parse_date(as_of, "as_of"))
        result = ctx.call("PaymentService", "GetResellerStatement", request)
    except (FormError, ApiError) as e:
        error = e.message
    return ctx.render("reseller_statement.html", title=reseller.name, nav="resellers", tab="statement",
                      reseller=reseller, statement=result, as_of=as_of or (iso_date(result.as_of) if result else ""),
                      error=error)


@fallback.get("/resellers/{rid:path}")
def reseller_home(ctx: Ctx, rid: str):
    return ctx.redirect(f"/resellers/{quote(rid)}/details")
