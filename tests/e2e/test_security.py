"""Bearer tokens and roles on the real server, SIGHUP reload, start-up refusals, and TLS (SPEC §9)."""
import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from billing.v1 import invoice_pb2, numbering_pb2, reseller_pb2, usage_pb2
from helpers import Stubs, call, free_port, period, reseller, wait_until
from service.cli import main
from service.config import Settings, parse_database_url
from service.server import create_server

BILLING = str(Path(sys.executable).parent / "billing")
ADMIN, AUDITOR, SWITCH = "admin-" + "a" * 26, "auditor-" + "b" * 24, "switch-" + "c" * 25
TOKENS = f"# test tokens\n{ADMIN} admin\n\n{AUDITOR} auditor\n{SWITCH} switch\n"


@contextlib.contextmanager
def running(tmp_path, **settings):
    running = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(
        f"sqlite:///{tmp_path / 'billing.db'}"), **settings))
    running.server.start()
    try:
        yield running
    finally:
        running.stop(0)


@pytest.fixture
def tokens_file(tmp_path) -> Path:
    path = tmp_path / "tokens"
    path.write_text(TOKENS)
    return path


@pytest.fixture
def secured(tmp_path, tokens_file):
    with running(tmp_path, tokens_file=str(tokens_file)) as r, grpc.insecure_channel(f"127.0.0.1:{r.port}") as ch:
        yield r, Stubs(ch), ch


def auth(token: str):
    return (("authorization", f"Bearer {token}"),)


def code_of(fn, *args, **kw) -> grpc.StatusCode:
    try:
        fn(*args, **kw)
    except grpc.RpcError as e:
        return e.code()
    return grpc.StatusCode.OK


def test_missing_or_unknown_token_is_unauthenticated(secured):
    _, stubs, _ = secured
    get = reseller_pb2.GetResellerRequest(reseller_id="r1")
    assert code_of(stubs.resellers.GetReseller, get) == grpc.StatusCode.UNAUTHENTICATED
    assert code_of(stubs.resellers.GetReseller, get, metadata=auth("x" * 32)) == grpc.StatusCode.UNAUTHENTICATED
    assert code_of(stubs.resellers.GetReseller, get, metadata=(("authorization", ADMIN),)) == \
        grpc.StatusCode.UNAUTHENTICATED  # the scheme is required
    batches = iter([usage_pb2.CallBatch(calls=[call("a")])])
    assert code_of(stubs.usage.RecordCalls, batches) == grpc.StatusCode.UNAUTHENTICATED


def test_each_role_may_call_only_its_methods(secured):
    _, stubs, _ = secured
    upsert, get = reseller(), reseller_pb2.GetResellerRequest(reseller_id="r1")
    assert code_of(stubs.resellers.UpsertReseller, upsert, metadata=auth(SWITCH)) == grpc.StatusCode.PERMISSION_DENIED
    assert code_of(stubs.resellers.UpsertReseller, upsert, metadata=auth(AUDITOR)) == \
        grpc.StatusCode.PERMISSION_DENIED
    assert code_of(stubs.resellers.UpsertReseller, upsert, metadata=auth(ADMIN)) == grpc.StatusCode.OK
    assert code_of(stubs.resellers.GetReseller, get, metadata=auth(SWITCH)) == grpc.StatusCode.OK
    assert code_of(stubs.resellers.ListResellers, reseller_pb2.ListResellersRequest(), metadata=auth(SWITCH)) == \
        grpc.StatusCode.PERMISSION_DENIED
    assert code_of(stubs.resellers.ListResellers, reseller_pb2.ListResellersRequest(), metadata=auth(AUDITOR)) == \
        grpc.StatusCode.OK
    result = stubs.usage.RecordCalls(iter([usage_pb2.CallBatch(calls=[call("a")])]), metadata=auth(SWITCH))
    assert result.accepted == 1
    create = invoice_pb2.CreateInvoiceRequest(reseller_id="r1", period=period("2026-03-01", "2026-03-31"))
    assert code_of(stubs.invoices.CalculateInvoice, invoice_pb2.CalculateInvoiceRequest(
        reseller_id="r1", period=create.period), metadata=auth(AUDITOR)) == grpc.StatusCode.OK
    assert code_of(stubs.invoices.CreateInvoice, create, metadata=auth(AUDITOR)) == grpc.StatusCode.PERMISSION_DENIED
    assert code_of(stubs.invoices.CreateInvoice, create, metadata=auth(SWITCH)) == grpc.StatusCode.PERMISSION_DENIED


def test_denied_writes_store_nothing(secured):
    r, stubs, _ = secured
    before = r.store.event_log.head()
    for token in ("", SWITCH, AUDITOR):
        code_of(stubs.resellers.UpsertReseller, reseller(), metadata=auth(token) if token else None)
    assert code_of(stubs.resellers.GetReseller, reseller_pb2.GetResellerRequest(reseller_id="r1"),
                   metadata=auth(ADMIN)) == grpc.StatusCode.NOT_FOUND
    assert r.store.event_log.head() == before


def test_health_and_reflection_need_no_token(secured):
    _, _, ch = secured
    health = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""))
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    responses = reflection_pb2_grpc.ServerReflectionStub(ch).ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    assert "billing.v1.InvoiceService" in {s.name for r in responses for s in r.list_services_response.service}


class StderrLines:
    """Collects a subprocess's stderr lines in a thread, so a test can wait for a line to appear."""

    def __init__(self, proc: subprocess.Popen):
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._reader.start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:
            self.lines.append(line)

    def saying(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def text(self) -> str:
        self._reader.join(30)
        return "".join(self.lines)


def test_sighup_reloads_tokens_and_a_bad_file_keeps_the_old_ones(tmp_path, tokens_file):
    port, new_admin = free_port(), "rotated-" + "d" * 24
    proc = subprocess.Popen([BILLING, "serve", "--listen", f"127.0.0.1:{port}", "--tokens-file", str(tokens_file),
                             "--database", f"sqlite:///{tmp_path}/b.db"], stderr=subprocess.PIPE, text=True)
    stderr = StderrLines(proc)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=20)
            numbering = Stubs(ch).numbering.GetNumbering
            ask = numbering_pb2.GetNumberingRequest()
            assert code_of(numbering, ask, metadata=auth(ADMIN)) == grpc.StatusCode.OK
            tokens_file.write_text(f"{new_admin} admin\n{AUDITOR} emperor\n")  # bad line 2
            proc.send_signal(signal.SIGHUP)
            wait_until(lambda: stderr.saying("keeping the previous tokens"), 20, "the bad tokens file to be refused")
            assert code_of(numbering, ask, metadata=auth(ADMIN)) == grpc.StatusCode.OK
            assert code_of(numbering, ask, metadata=auth(new_admin)) == grpc.StatusCode.UNAUTHENTICATED
            tokens_file.write_text(f"{new_admin} admin\n")
            proc.send_signal(signal.SIGHUP)
            wait_until(lambda: code_of(numbering, ask, metadata=auth(new_admin)) == grpc.StatusCode.OK, 20,
                       "the rotated token to be accepted")
            assert code_of(numbering, ask, metadata=auth(ADMIN)) == grpc.StatusCode.UNAUTHENTICATED
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        log = stderr.text()
        assert f"{tokens_file}:2" in log and "keeping the previous tokens" in log
        assert ADMIN not in log and new_admin not in log
    finally:
        proc.kill()


@pytest.mark.parametrize("text,expect", [
    (f"{ADMIN} admin\n{AUDITOR} superuser\n", ":2: unknown role 'superuser'"),
    ("# nothing here\n", "holds no tokens"),
])
def test_bad_tokens_file_stops_start_up_with_one_line(tmp_path, text, expect):
    path = tmp_path / "tokens"
    path.write_text(text)
    done = subprocess.run([BILLING, "serve", "--listen", f"127.0.0.1:{free_port()}", "--tokens-file", str(path),
                           "--database", f"sqlite:///{tmp_path}/b.db"], capture_output=True, text=True, timeout=30)
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1, done.stderr
    assert "--tokens-file" in lines[0] and expect in lines[0] and AUDITOR not in lines[0]


# ------------------------------------------------------------------ TLS

@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1, made with the openssl command."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_tls_server_serves_a_client_that_trusts_its_certificate(tmp_path, certificate):
    cert, key = certificate
    with running(tmp_path, tls_cert=str(cert), tls_key=str(key)) as r:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(f"127.0.0.1:{r.port}", credentials) as ch:
            assert Stubs(ch).resellers.UpsertReseller(reseller()).reseller_id == "r1"
        with grpc.insecure_channel(f"127.0.0.1:{r.port}") as ch:  # plaintext is not served
            code = code_of(Stubs(ch).resellers.GetReseller, reseller_pb2.GetResellerRequest(reseller_id="r1"),
                           timeout=5)
            assert code == grpc.StatusCode.UNAVAILABLE


def test_cli_trusts_a_ca_given_by_flag_or_environment(tmp_path, certificate, capsys, monkeypatch):
    cert, key = certificate
    with running(tmp_path, tls_cert=str(cert), tls_key=str(key)) as r:
        address = f"127.0.0.1:{r.port}"
        assert main(["numbering", "show", "--server", address, "--tls-ca", str(cert)]) == 0
        monkeypatch.setenv("BILLING_TLS_CA", str(cert))
        assert main(["--json", "numbering", "show", "--server", address]) == 0
        assert '"next_number"' in capsys.readouterr().out
        monkeypatch.setenv("BILLING_TLS_CA", str(tmp_path / "missing.pem"))
        assert main(["numbering", "show", "--server", address]) == 2
        assert "--tls-ca" in capsys.readouterr().err


def test_tls_settings_must_be_pem_files(tmp_path):
    not_pem = tmp_path / "cert.pem"
    not_pem.write_text("hello")
    done = subprocess.run([BILLING, "serve", "--tls-cert", str(not_pem), "--tls-key", str(not_pem),
                           "--database", f"sqlite:///{tmp_path}/b.db"], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "BILLING_LISTEN": f"127.0.0.1:{free_port()}"})
    assert done.returncode != 0 and "--tls-cert" in done.stderr and len(done.stderr.strip().splitlines()) == 1
