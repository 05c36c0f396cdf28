"""Sign-in with a bearer token, sign-out, and the start page."""
import secrets

from service.console.session import SignInRefused, detect_role
from service.console.web import Ctx, Routes

routes = Routes()


@routes.get("/")
def home(ctx: Ctx):
    return ctx.redirect("/resellers")


@routes.get("/signin", public=True)
def signin_page(ctx: Ctx):
    if not ctx.console.settings.auth_enabled or ctx.session.role:
        return ctx.redirect("/resellers")
    return ctx.render("signin.html", title="Sign in", next=safe_next(ctx.query.get("next")))


@routes.post("/signin", write=False, public=True)
def signin(ctx: Ctx):
    if not ctx.console.settings.auth_enabled:
        return ctx.redirect("/resellers")
    token = (ctx.form.get("token") or "").strip()
    next_url = safe_next(ctx.form.get("next"))
    if not token:
        return ctx.render("signin.html", status=422, title="Sign in", next=next_url, error="Enter your token.")
    try:
        role = detect_role(ctx.console.api, token)
    except SignInRefused as e:
        return ctx.render("signin.html", status=403, title="Sign in", next=next_url, error=str(e))
    ctx.session.token, ctx.session.role = token, role
    ctx.session.csrf = secrets.token_urlsafe(24)  # a new session gets a new CSRF value
    return ctx.redirect(next_url, flash=f"Signed in as {role}.")


@routes.post("/signout", write=False, public=True)
def signout(ctx: Ctx):
    ctx.console.codec.revoke(ctx.session)
    ctx.session.token, ctx.session.role = "", ""
    ctx.session.csrf = secrets.token_urlsafe(24)
    return ctx.redirect("/signin" if ctx.console.settings.auth_enabled else "/resellers", flash="Signed out.")


def safe_next(value: str | None) -> str:
    """Only a path on this console (no scheme, no //host) may follow sign-in."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/resellers"
