"""The request pipeline every page shares: session, CSRF, sign-in and role checks, rendering.

A view is a plain function `view(ctx, **path_params) -> Response`, registered with
`routes.get(path)` or `routes.post(path, write=...)`. It runs in a worker thread (gRPC calls
block) and reaches the data only through `ctx.call` / `ctx.stream`.
"""
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import grpc
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from service.console.api import RENDER_TIMEOUT, ApiError
from service.console.session import COOKIE, Session

MAX_UPLOAD = 1024 * 1024  # a template is ≤ 256 KiB and a logo ≤ 512 KiB
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
}
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff"}


WRITE_VERBS = ("Upsert", "Create", "Update", "Upload", "Set", "Void", "Record", "Issue")


class Forbidden(Exception):
    """Answer 403 with this message; nothing was changed."""


@dataclass
class Ctx:
    request: Request
    console: "object"  # service.console.server.Console
    session: Session
    form: dict = field(default_factory=dict)  # text fields as typed
    files: dict = field(default_factory=dict)  # name -> (filename, bytes)

    @property
    def query(self):
        return self.request.query_params

    def call(self, service: str, method: str, request=None, **fields):
        """A unary call with the user's token. Reads that take `min_position` wait for this user's latest
        write (a list shows the payment just recorded); a write's `position` is remembered for that."""
        if request is None:
            request = self.new(service, method, **fields)
        asked = request.min_position if "min_position" in request.DESCRIPTOR.fields_by_name else None
        if asked is not None and asked < self.session.position:
            request.min_position = self.session.position
        try:
            response = self.console.api.call(self.session.token or None, service, method, request)
        except ApiError as e:  # a remembered position this store never reaches (e.g. a fresh database): forget it
            if e.code != grpc.StatusCode.DEADLINE_EXCEEDED or asked is None or request.min_position == asked:
                raise
            self.session.position, self.session.dirty = 0, True
            request.min_position = asked
            response = self.console.api.call(self.session.token or None, service, method, request)
        if method.startswith(WRITE_VERBS) and "position" in response.DESCRIPTOR.fields_by_name:
            self.session.wrote(response.position)
        return response

    def render_call(self, service: str, method: str, **fields):
        """A call that renders a document (PDF, XML): a longer deadline."""
        return self.console.api.call(self.session.token or None, service, method, timeout=RENDER_TIMEOUT, **fields)

    def stream(self, service: str, method: str, request, limit: int) -> list:
        return self.console.api.stream(self.session.token or None, service, method, request, limit)

    def message(self, name: str, **fields):
        """A `billing.v1.<name>` message (e.g. "Period")."""
        return self.console.api.catalog.message_class(f"billing.v1.{name}")(**fields)

    def new(self, service: str, method: str, **fields):
        """A request message for `Service.Method`."""
        return self.console.api.request(service, method, **fields)

    def render(self, template: str, status: int = 200, **values) -> HTMLResponse:
        values.setdefault("form", self.form)
        html = self.console.jinja.get_template(template).render(
            session=self.session, can_write=self.session.can_write, csrf=self.session.csrf,
            features=self.console.features, auth_enabled=self.console.settings.auth_enabled,
            flash=self.session.take_flash(), path=self.request.url.path, **values)
        return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)

    def redirect(self, url: str, flash: str = "") -> RedirectResponse:
        if flash:
            self.session.say(flash)
        return RedirectResponse(url, status_code=303)


class Routes:
    """Collects the routes of one view module."""

    def __init__(self):
        self.items: list[tuple[str, str, object, bool, bool]] = []

    def get(self, path: str, public: bool = False, write: bool = False):
        """A page; `write=True` for a page that only offers a write form (admins only)."""
        return self._add(path, "GET", write=write, public=public)

    def post(self, path: str, write: bool = True, public: bool = False):
        return self._add(path, "POST", write=write, public=public)

    def _add(self, path, method, write, public):
        def register(view):
            self.items.append((path, method, view, write, public))
            return view
        return register

    def starlette_routes(self, console) -> list[Route]:
        return [Route(path, endpoint(console, view, write, public), methods=[method])
                for path, method, view, write, public in self.items]


def endpoint(console, view, write: bool, public: bool):
    async def handle(request: Request) -> Response:
        started = time.perf_counter()
        session = console.codec.loads(request.cookies.get(COOKIE))
        if not console.settings.auth_enabled:
            session.role = "admin"  # no tokens file: no sign-in, everyone is admin (loopback only)
        elif not session.token:
            session.role = ""
        try:
            ctx = Ctx(request, console, session)
            if request.method == "POST":
                await read_form(request, ctx)
                if not session.csrf_ok(ctx.form.get("csrf")):
                    raise Forbidden("The form was not sent by this console or has expired (CSRF check "
                                    "failed). Nothing was changed. Reload the page and try again.")
            if not public and console.settings.auth_enabled and not session.role:
                if request.method == "POST":
                    raise Forbidden("You are not signed in. Nothing was changed.")
                response = RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)
            elif write and not session.can_write:
                raise Forbidden("Your role (auditor) is read-only. Nothing was changed.")
            else:
                response = await run_in_threadpool(run_view, view, ctx, request.path_params)
        except Forbidden as e:
            response = ctx.render("error.html", status=403, title="Not allowed", message=str(e))
        response.headers.update(COMMON_HEADERS)
        if session.dirty:
            store_cookie(response, console, session)
        # the page's server time (W3C Server-Timing): browsers' dev tools and bench/console_pages.py read it
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response
    return handle


def run_view(view, ctx: Ctx, params: dict) -> Response:
    try:
        return view(ctx, **params)
    except ApiError as e:
        if e.code == grpc.StatusCode.UNAUTHENTICATED and ctx.console.settings.auth_enabled:
            ctx.session.token, ctx.session.role = "", ""
            return ctx.redirect("/signin", flash=e.message)
        return ctx.render("error.html", status=e.http_status, title="The billing server said no",
                          message=e.message)


async def read_form(request: Request, ctx: Ctx) -> None:
    async with request.form(max_part_size=MAX_UPLOAD) as form:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read(MAX_UPLOAD + 1)
                if value.filename or data:
                    ctx.files[key] = (value.filename or "", data)
            elif key not in ctx.form:
                ctx.form[key] = value
            else:  # repeated fields (e.g. credit note lines) become lists
                previous = ctx.form[key]
                ctx.form[key] = (previous if isinstance(previous, list) else [previous]) + [value]


def store_cookie(response: Response, console, session: Session) -> None:
    response.set_cookie(COOKIE, console.codec.dumps(session), httponly=True, samesite="strict",
                        secure=console.secure, path="/")


def attachment(content: bytes, media_type: str, filename: str, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)
    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f'{disposition}; filename="{safe}"', "Cache-Control": "no-store"})
