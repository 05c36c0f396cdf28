"""ConsoleServer (uvicorn in a thread), HTTPS with a TLS gRPC port, the API-only boundary, features."""
import ast
import socket
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from conftest import ADMIN, console_page
from service.config import Settings, parse_database_url
from service.console.api import Catalog
from service.console.features import NEEDS, Features
from service.console.server import ConsoleServer, ConsoleSettings
from service.server import create_server

CONSOLE = Path(__file__).resolve().parents[2] / "service" / "console"
FORBIDDEN = ("service.application", "service.persistence", "service.bootstrap", "projections", "eventsourcing",
             "domain", "service.grpc")


def test_console_server_serves_and_stops(open_grpc_server):
    server = ConsoleServer(ConsoleSettings(listen="127.0.0.1:0", grpc_target=f"127.0.0.1:{open_grpc_server.port}"))
    port = server.start()
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/resellers")
        assert response.status_code == 200 and "Resellers" in response.text
        assert httpx.get(f"http://127.0.0.1:{port}/static/console.css").status_code == 200
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/resellers")


def test_an_address_in_use_is_a_clear_os_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            ConsoleServer(ConsoleSettings(listen=f"127.0.0.1:{port}")).start()
    with pytest.raises(OSError, match="HOST:PORT"):
        ConsoleServer(ConsoleSettings(listen="nonsense")).start()


def test_without_authentication_only_loopback_is_served():
    with pytest.raises(OSError, match="without authentication"):
        ConsoleServer(ConsoleSettings(listen="0.0.0.0:0", auth_enabled=False)).start()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key),
                    "-out", str(cert), "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_https_console_over_a_tls_grpc_port_sets_a_secure_cookie(tmp_path, tokens_file, certificate):
    cert, key = certificate
    running = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(f"sqlite:///{tmp_path}/b.db"),
                                     tokens_file=tokens_file, tls_cert=str(cert), tls_key=str(key)))
    running.server.start()
    server = ConsoleServer(ConsoleSettings(listen="127.0.0.1:0", grpc_target=f"127.0.0.1:{running.port}",
                                           auth_enabled=True, tls_cert=str(cert), tls_key=str(key),
                                           grpc_root_cert=cert.read_bytes(), secret=b"s" * 32))
    port = server.start()
    try:
        with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=ssl.create_default_context(cafile=str(cert))) as client:
            page = client.get("/signin")
            assert "secure" in page.headers["set-cookie"].lower()
            csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
            signed_in = client.post("/signin", data={"csrf": csrf, "token": ADMIN, "next": "/resellers"})
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/resellers"
            assert "Create Reseller" in client.get("/resellers").text  # the gRPC calls went over TLS
    finally:
        server.stop()
        running.stop(0)


def test_a_shared_secret_lets_another_console_process_read_the_session(grpc_server):
    first = console_page(grpc_server.port, secret=b"k" * 32)
    first.sign_in(ADMIN)
    second = console_page(grpc_server.port, secret=b"k" * 32)
    second.client.cookies.update(dict(first.client.cookies))
    assert second.get("/resellers", follow_redirects=False).status_code == 200
    third = console_page(grpc_server.port)  # a random secret per start: sign in again
    third.client.cookies.update(dict(first.client.cookies))
    assert third.get("/resellers", follow_redirects=False).status_code == 303


def test_the_console_reaches_data_only_through_the_grpc_api():
    for path in CONSOLE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"


def test_features_follow_the_descriptors():
    features = Features.detect(Catalog())
    for name in NEEDS:  # every feature is decided (on or off) without error
        assert getattr(features, name) in (True, False)
    assert not features.record_payment or Catalog().has("PaymentService", "RecordPayment")

    class Grown(Catalog):  # a later release that has PaymentService.RecordPayment
        def has(self, service, method):
            return (service, method) == ("PaymentService", "RecordPayment") or super().has(service, method)
    assert Features.detect(Grown()).record_payment


def test_buttons_appear_only_for_rpcs_that_exist(admin, api, grpc_server):
    from helpers import call, reseller, send
    api.resellers.UpsertReseller(reseller())
    send(api, [call("c1")])
    admin.post("/resellers/r1/invoices/new", {"start": "2026-03-01", "end": "2026-03-31", "action": "save"})
    invoice_id = admin.get("/resellers/r1/invoices").text.split('href="/invoices/')[1].split('"')[0]
    console = admin.client.app.state.console
    catalog = console.api.catalog
    page = admin.get(f"/invoices/{invoice_id}").text
    for label, rpc in (("Record payment", ("PaymentService", "RecordPayment")),
                       ("Credit note", ("CreditNoteService", "IssueCreditNote")),
                       ("UBL XML", ("InvoiceService", "ExportDocumentXml"))):
        assert (label in page) == catalog.has(*rpc), label
    statement = ">Statement<" in admin.get("/resellers/r1/details").text
    assert statement == catalog.has("PaymentService", "GetResellerStatement")
    console.features = Features(frozenset({"record_payment", "credit_note", "ubl_xml", "facturx_pdf", "statement"}))
    page = admin.get(f"/invoices/{invoice_id}").text
    for label in ("Record payment", "Credit note", "UBL XML", "Factur-X PDF"):
        assert label in page, label
    assert ">Statement<" in admin.get("/resellers/r1/details").text

