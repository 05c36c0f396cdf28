"""Entry point of the admin console (SPEC §16): settings, the Starlette app, and uvicorn in a thread.

The console is a client of the gRPC API only: every page calls the public RPCs over a channel
to `grpc_target` with the signed-in user's token.
"""
import asyncio
import ipaddress
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import jinja2
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from service.config import is_loopback
from service.console.api import Api
from service.console.features import Features
from service.console.formats import FILTERS, GLOBALS
from service.console.session import SessionCodec

HERE = Path(__file__).parent


@dataclass(frozen=True)
class ConsoleSettings:
    listen: str = "127.0.0.1:8080"
    grpc_target: str = "127.0.0.1:50051"
    auth_enabled: bool = False  # True when the gRPC server has a tokens file: sign-in with a token
    secret: bytes | None = None  # session signing key; None = random per start
    tls_cert: str | None = None  # with tls_key: serve HTTPS, cookie Secure
    tls_key: str | None = None
    grpc_root_cert: bytes | None = None  # PEM to trust when the gRPC port uses TLS
    grpc_server_name: str | None = None  # TLS name to expect from the gRPC server when it differs from the target


class Console:
    """What the pages share: settings, the API client, features, templates, the session codec."""

    def __init__(self, settings: ConsoleSettings):
        self.settings = settings
        self.api = Api(settings.grpc_target, settings.grpc_root_cert, settings.grpc_server_name)
        self.features = Features.detect(self.api.catalog)
        self.codec = SessionCodec(settings.secret or secrets.token_bytes(32))
        self.secure = bool(settings.tls_cert and settings.tls_key)
        self.jinja = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                        undefined=jinja2.ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
        self.jinja.filters.update(FILTERS)
        self.jinja.globals.update(GLOBALS)


def create_app(settings: ConsoleSettings) -> Starlette:
    """The console as an ASGI app (TestClient tests use it directly); `app.state.console` holds its parts."""
    from service.console.views import ALL_ROUTES
    console = Console(settings)
    routes = [route for group in ALL_ROUTES for route in group.starlette_routes(console)]
    routes.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))
    app = Starlette(routes=routes)
    app.state.console = console
    return app


def split_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise OSError(f"console: want HOST:PORT to listen on, got {listen!r}")
    return host, int(port)


def bind(listen: str) -> socket.socket:
    """A listening socket on `listen`; OSError naming the address when it cannot be bound."""
    host, port = split_listen(listen)
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET  # a host name such as localhost
    # proto IPPROTO_TCP: asyncio then sets TCP_NODELAY on each connection (it checks sock.proto); without it a
    # kept-alive connection waits for the client's delayed ACK (~40 ms) between a response's headers and body
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise OSError(e.errno, f"console: cannot listen on {listen}: {e.strerror or e}") from None
    return sock


class ConsoleServer:
    """The console served by uvicorn in a daemon thread of the server process."""

    def __init__(self, settings: ConsoleSettings):
        self.settings = settings
        self.app = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        """Bind, serve in a daemon thread, return the bound port. OSError if the address cannot be bound.

        Without authentication (no tokens file) only a loopback address is accepted (SPEC §16, like §9).
        """
        split_listen(self.settings.listen)  # a malformed address is named as such first
        if not self.settings.auth_enabled and not is_loopback(self.settings.listen):
            raise OSError(f"console: refusing to serve {self.settings.listen} without authentication (no tokens "
                          "file); use a loopback address or give --tokens-file / BILLING_TOKENS_FILE")
        sock = bind(self.settings.listen)
        port = sock.getsockname()[1]
        self.app = create_app(self.settings)
        s = self.settings
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                server_header=False, ssl_certfile=s.tls_cert if s.tls_key else None,
                                ssl_keyfile=s.tls_key if s.tls_cert else None)
        self._server = uvicorn.Server(config)
        failure: list[BaseException] = []

        def run():
            try:
                asyncio.run(self._server.serve(sockets=[sock]))
            except BaseException as e:  # noqa: BLE001 - reported by start()
                failure.append(e)
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, name="billing-console", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._server.started:
            self.stop()
            raise OSError(f"console: could not start on {self.settings.listen}: "
                          f"{failure[0] if failure else 'timed out'}")
        return port

    def stop(self) -> None:
        if self._server:
            self._server.should_exit = True
        if self._thread:
            self._thread.join(timeout=5)
        if self.app is not None:
            self.app.state.console.api.close()
