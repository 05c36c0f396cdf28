"""Seller: the operator's own details printed on every invoice (GetSeller / UpdateSeller)."""
from service.console import fields
from service.console.api import ApiError
from service.console.formats import FormError
from service.console.web import Ctx, Routes

routes = Routes()


@routes.get("/seller")
def seller(ctx: Ctx):
    current = ctx.call("TemplateService", "GetSeller")
    return render(ctx, fields.to_form(current, fields.SELLER), current)


@routes.post("/seller")
def update_seller(ctx: Ctx):
    cls = ctx.console.api.catalog.request_class("TemplateService", "UpdateSeller")
    try:
        stored = ctx.call("TemplateService", "UpdateSeller", fields.from_form(ctx.form, fields.SELLER, cls))
    except FormError as e:
        return render(ctx, ctx.form, None, status=422, error=e.message, errors={e.field: e.message})
    except ApiError as e:
        return render(ctx, ctx.form, None, status=e.http_status, error=e.message,
                      errors=fields.field_errors(e.fields, fields.SELLER))
    return ctx.redirect("/seller", flash=f"Seller details saved ({stored.name}).")


def render(ctx: Ctx, values: dict, current, status: int = 200, **extra):
    cls = ctx.console.api.catalog.request_class("TemplateService", "UpdateSeller")
    specs = fields.present(fields.SELLER, cls)
    rows = [(s, fields.display(current, s)) for s in specs] if current is not None else []
    return ctx.render("seller.html", status=status, title="Seller", nav="seller", specs=specs, values=values,
                      rows=rows, errors=extra.pop("errors", {}), **extra)
