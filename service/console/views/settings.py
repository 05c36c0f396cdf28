"""Settings › Customize (the default invoice template) and Settings › Options › Billing and Payments."""
from starlette.responses import Response

from service.console.api import ApiError
from service.console.web import Ctx, Routes, attachment

routes = Routes()
CUSTOMIZE = "/settings/customize"
OPTIONS = "/settings/options"


@routes.get(CUSTOMIZE)
def customize(ctx: Ctx):
    return render_customize(ctx)


def render_customize(ctx: Ctx, status: int = 200, **values):
    templates, token = [], ""
    while True:  # every version: an operator has a handful
        page = ctx.call("TemplateService", "ListTemplates", page_size=500, page_token=token)
        templates.extend(page.templates)
        token = page.next_page_token
        if not token:
            break
    default = next((t for t in templates if t.is_default), None)
    return ctx.render("customize.html", status=status, title="Customize", nav="customize", templates=templates,
                      default=default, **values)


@routes.post(CUSTOMIZE + "/upload")
def upload(ctx: Ctx):
    """Upload a new version; it becomes the global default (make_default=true)."""
    name = (ctx.form.get("name") or "").strip()
    try:
        source, logo = template_files(ctx)
        stored = ctx.call("TemplateService", "UploadTemplate", name=name, source=source, logo=logo, make_default=True)
    except UploadError as e:
        return render_customize(ctx, status=422, error=str(e))
    except ApiError as e:
        return render_customize(ctx, status=e.http_status, error=e.message)
    return ctx.redirect(CUSTOMIZE, flash=f"Template version {stored.version} ({stored.name}) uploaded; "
                                         "it is now the default.")


@routes.post(CUSTOMIZE + "/preview", write=False)
def preview_upload(ctx: Ctx):
    """Preview PDF of the chosen file before uploading it (writes nothing)."""
    try:
        source, _ = template_files(ctx)
        pdf = ctx.render_call("TemplateService", "PreviewTemplatePdf", source=source)
    except UploadError as e:
        return render_customize(ctx, status=422, error=str(e))
    except ApiError as e:
        return render_customize(ctx, status=e.http_status, error=e.message)
    return attachment(pdf.content, "application/pdf", "template-preview.pdf", inline=True)


class UploadError(Exception):
    pass


def template_files(ctx: Ctx) -> tuple[str, bytes]:
    _, data = ctx.files.get("source", ("", b""))
    if not data:
        raise UploadError("Choose the template file to upload.")
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadError("The template file must be UTF-8 text.") from None
    return source, ctx.files.get("logo", ("", b""))[1]


@routes.get(CUSTOMIZE + "/templates/{version:int}/source")
def view_source(ctx: Ctx, version: int):
    template = ctx.call("TemplateService", "GetTemplate", version=version)
    return Response(template.source, media_type="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="template-v{version}.txt"'})


@routes.get(CUSTOMIZE + "/templates/{version:int}/preview")
def preview_version(ctx: Ctx, version: int):
    pdf = ctx.render_call("TemplateService", "PreviewTemplatePdf", version=version)
    return attachment(pdf.content, "application/pdf", f"template-v{version}-preview.pdf", inline=True)


@routes.post(CUSTOMIZE + "/templates/{version:int}/default")
def make_default(ctx: Ctx, version: int):
    try:
        ctx.call("TemplateService", "SetDefaultTemplate", version=version)
    except ApiError as e:
        return render_customize(ctx, status=e.http_status, error=e.message)
    return ctx.redirect(CUSTOMIZE, flash=f"Template version {version} is now the default.")


@routes.get(OPTIONS)
def options(ctx: Ctx):
    return render_options(ctx)


def render_options(ctx: Ctx, status: int = 200, **values):
    numbering = ctx.call("NumberingService", "GetNumbering")
    series = []
    if ctx.console.features.series:
        series = ctx.call("NumberingService", "ListSeries", page_size=500).series
    kinds = []
    if ctx.console.features.upsert_series:
        fd = ctx.new("NumberingService", "UpsertSeries").DESCRIPTOR.fields_by_name.get("kind")
        kinds = [(v.name, v.name.removeprefix("DOCUMENT_KIND_").replace("_", " ").capitalize())
                 for v in (fd.enum_type.values if fd and fd.enum_type else []) if v.number]
    values.setdefault("numbering_form", {"pattern": numbering.pattern, "start": str(numbering.next_number)})
    editing = next((x for x in series if x.series_id == ctx.query.get("series")), None)
    if editing is not None and "series_form" not in values:  # "Edit" on a row fills the form
        values["series_form"] = {"series_id": editing.series_id, "pattern": editing.pattern,
                                 "start": str(editing.next_number),
                                 "kind": editing.DESCRIPTOR.fields_by_name["kind"].enum_type
                                 .values_by_number[editing.kind].name}
    return ctx.render("options.html", status=status, title="Billing and Payments", nav="options",
                      numbering=numbering, series=series, kinds=kinds, **values)


@routes.post(OPTIONS + "/numbering")
def update_numbering(ctx: Ctx):
    typed = {"pattern": ctx.form.get("pattern", ""), "start": ctx.form.get("start", "")}
    start = typed["start"].strip()
    if start and not start.isdigit():
        return render_options(ctx, status=422, numbering_form=typed, numbering_error="Invoice Numbering Start: "
                              "enter a whole number.", numbering_errors={"start": "whole number"})
    try:
        current = ctx.call("NumberingService", "GetNumbering")
        new_start = int(start) if start and int(start) != current.next_number else 0  # 0 keeps it
        numbering = ctx.call("NumberingService", "UpdateNumbering", pattern=typed["pattern"].strip(), start=new_start)
    except ApiError as e:
        errors = {k: v for k, v in e.fields.items() if k in ("pattern", "start")}
        return render_options(ctx, status=e.http_status, numbering_form=typed, numbering_error=e.message,
                              numbering_errors=errors)
    return ctx.redirect(OPTIONS, flash=f"Invoice numbering saved: pattern {numbering.pattern}, "
                                       f"next number {numbering.next_number}.")


@routes.post(OPTIONS + "/series")
def upsert_series(ctx: Ctx):
    """Create a series, or change its pattern / move its start forward (NumberingService.UpsertSeries)."""
    if not ctx.console.features.upsert_series:
        return Response("Not found", status_code=404)
    typed = {k: (ctx.form.get(k) or "").strip() for k in ("series_id", "kind", "pattern", "start")}
    request = ctx.new("NumberingService", "UpsertSeries", series_id=typed["series_id"], pattern=typed["pattern"])
    kind = request.DESCRIPTOR.fields_by_name["kind"].enum_type.values_by_name.get(typed["kind"])
    if typed["kind"] and kind is None:
        return render_options(ctx, status=422, series_form=typed, series_error="Kind: choose Invoice or Credit note.",
                              series_errors={"kind": "unknown kind"})
    if typed["start"] and not typed["start"].isdigit():
        return render_options(ctx, status=422, series_form=typed, series_error="Start: enter a whole number.",
                              series_errors={"start": "whole number"})
    request.kind = kind.number if kind else 0
    request.start = int(typed["start"] or 0)
    try:
        stored = ctx.call("NumberingService", "UpsertSeries", request)
    except ApiError as e:
        errors = {path.split(".")[-1]: words for path, words in e.fields.items()}
        return render_options(ctx, status=e.http_status, series_form=typed, series_error=e.message,
                              series_errors=errors)
    return ctx.redirect(OPTIONS, flash=f"Series {stored.series_id} saved: pattern {stored.pattern}, "
                                       f"next number {stored.next_number}.")
