"""Console fixtures: a real gRPC server (with and without a tokens file) and a console client for it."""
import re
import warnings
from html.parser import HTMLParser

import grpc
import pytest

from service.config import Settings, parse_database_url
from service.console.server import ConsoleSettings, create_app
from service.server import create_server

ADMIN, AUDITOR, SWITCH = "admin-token-0123456789abcdef", "auditor-token-0123456789abcd", "switch-token-0123456789abcde"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')

with warnings.catch_warnings():  # starlette 1.x suggests httpx2; the httpx client works the same
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture
def tokens_file(tmp_path):
    path = tmp_path / "tokens"
    path.write_text(f"# console tests\n{ADMIN} admin\n{AUDITOR} auditor\n{SWITCH} switch\n")
    return str(path)


def start_server(tmp_path, tokens_file=None):
    running = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(
        f"sqlite:///{tmp_path / 'b.db'}"), tokens_file=tokens_file))
    running.server.start()
    return running


@pytest.fixture
def grpc_server(tmp_path, tokens_file):
    """The billing server with a tokens file (authentication on)."""
    running = start_server(tmp_path, tokens_file)
    yield running
    running.stop(0)


@pytest.fixture
def open_grpc_server(tmp_path):
    """The billing server without a tokens file (loopback only, no authentication)."""
    running = start_server(tmp_path)
    yield running
    running.stop(0)


class Page:
    """A console client: remembers the CSRF value of the last page and posts forms with it."""

    def __init__(self, client):
        self.client, self.csrf = client, ""

    def get(self, path, **kw):
        response = self.client.get(path, **kw)
        self._remember(response)
        return response

    def post(self, path, data=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf is True:
            data["csrf"] = self.csrf
        elif csrf:
            data["csrf"] = csrf
        response = self.client.post(path, data=data, **kw)
        self._remember(response)
        return response

    def _remember(self, response):
        found = CSRF.search(response.text) if response.headers.get("content-type", "").startswith("text/html") else None
        if found:
            self.csrf = found.group(1)

    def sign_in(self, token):
        self.get("/signin")
        return self.post("/signin", {"token": token, "next": "/resellers"})


def console_page(target_port, auth=True, **settings):
    app = create_app(ConsoleSettings(grpc_target=f"127.0.0.1:{target_port}", auth_enabled=auth, **settings))
    return Page(TestClient(app, base_url="http://testserver"))


@pytest.fixture
def console(grpc_server):
    """A console with authentication on, nobody signed in."""
    return console_page(grpc_server.port)


@pytest.fixture
def admin(grpc_server):
    page = console_page(grpc_server.port)
    page.sign_in(ADMIN)
    return page


@pytest.fixture
def auditor(grpc_server):
    page = console_page(grpc_server.port)
    page.sign_in(AUDITOR)
    return page


class Token(grpc.UnaryUnaryClientInterceptor, grpc.StreamUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds `authorization: Bearer <token>` to every call of a test's own channel."""

    def __init__(self, token):
        self.metadata = (("authorization", f"Bearer {token}"),)

    def _details(self, details):
        return details._replace(metadata=tuple(details.metadata or ()) + self.metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)


@pytest.fixture
def api(grpc_server):
    """helpers.Stubs on an admin channel: the test seeds data through the public API."""
    from billing.v1 import template_pb2_grpc
    from helpers import Stubs
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_server.port}")
    authed = grpc.intercept_channel(channel, Token(ADMIN))
    stubs = Stubs(authed)
    stubs.templates = template_pb2_grpc.TemplateServiceStub(authed)
    yield stubs
    channel.close()


WRITE_LABELS = frozenset({"Create Reseller", "Create Invoice", "Edit", "Save", "Calculate", "Make default",
                          "Upload as default", "Void", "Void invoice", "Record payment", "Credit note",
                          "Issue credit note", "Record refund", "Save series"})


class Controls(HTMLParser):
    """The write controls of a page: POST forms (other than sign-out) and buttons, links or summaries
    labelled like a write action. Field labels such as "Credit note series" are text, not controls."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post" and attrs.get("action") != "/signout":
            self.found.append(f"POST form {attrs.get('action')}")
        if tag in ("button", "a", "summary"):
            self._open.append((tag, []))
        if tag == "input" and (attrs.get("type") or "") == "submit":
            self.found.append(f"submit input {attrs.get('value')}")

    def handle_data(self, data):
        for _, parts in self._open:
            parts.append(data)

    def handle_endtag(self, tag):
        if self._open and self._open[-1][0] == tag:
            _, parts = self._open.pop()
            label = " ".join("".join(parts).split())
            if label in WRITE_LABELS:
                self.found.append(f"{tag} {label!r}")


def write_controls(html: str) -> list[str]:
    parser = Controls()
    parser.feed(html)
    return parser.found
