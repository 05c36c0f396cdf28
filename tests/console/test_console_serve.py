"""`billing serve` serves the console (SPEC §16): the settings, a real server process, and start_console."""
import os
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import ADMIN
from helpers import free_port, wait_until
from service.bootstrap import ConsoleStartError, loopback_target, start_console
from service.config import ConfigError, Settings, load_settings, parse_database_url
from service.server import create_server

BILLING = str(Path(sys.executable).parent / "billing")


# ---- settings ------------------------------------------------------------------------------------
def test_console_settings_default_flag_environment_and_off(tmp_path):
    assert load_settings({}, environ={}).console_listen == "127.0.0.1:8080"
    assert load_settings({}, environ={"BILLING_CONSOLE_LISTEN": "127.0.0.1:9000"}).console_listen == "127.0.0.1:9000"
    assert load_settings({"console_listen": "127.0.0.1:9001"},
                         environ={"BILLING_CONSOLE_LISTEN": "127.0.0.1:9000"}).console_listen == "127.0.0.1:9001"
    assert load_settings({"console_listen": "off"}, environ={}).console_listen is None
    assert load_settings({}, environ={"BILLING_CONSOLE_LISTEN": "OFF"}).console_listen is None
    assert load_settings({}, environ={}).console_secret is None  # random per start
    secret = "s3cret-shared-by-every-server"
    assert load_settings({}, environ={"BILLING_CONSOLE_SECRET": secret}).console_secret == secret.encode()
    assert Settings().console_listen is None  # a Settings built in code (tests, create_server): no console


@pytest.mark.parametrize("flags,env,names", [
    ({"console_listen": "nonsense"}, {}, "--console-listen"),
    ({"console_listen": "127.0.0.1:70000"}, {}, "--console-listen"),
    ({}, {"BILLING_CONSOLE_LISTEN": "8080"}, "BILLING_CONSOLE_LISTEN"),
    ({"console_listen": "0.0.0.0:8080"}, {}, "--tokens-file"),
    ({}, {"BILLING_CONSOLE_SECRET": "short"}, "BILLING_CONSOLE_SECRET"),
])
def test_bad_console_settings_are_config_errors_naming_the_setting(flags, env, names):
    with pytest.raises(ConfigError, match=names):
        load_settings(flags, environ=env)


def test_a_non_loopback_console_is_allowed_with_a_tokens_file(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{ADMIN} admin\n")
    settings = load_settings({"console_listen": "0.0.0.0:8443", "tokens_file": str(tokens)}, environ={})
    assert settings.console_listen == "0.0.0.0:8443"


def test_the_console_reaches_the_server_on_a_loopback_address():
    assert loopback_target("127.0.0.1:50051", 50051) == "127.0.0.1:50051"
    assert loopback_target("0.0.0.0:50051", 50051) == "127.0.0.1:50051"
    assert loopback_target("[::]:0", 4711) == "127.0.0.1:4711"
    assert loopback_target("[::1]:50051", 50051) == "[::1]:50051"
    assert loopback_target("localhost:50051", 50051) == "127.0.0.1:50051"
    assert loopback_target("10.1.2.3:50051", 50051) == "10.1.2.3:50051"  # listening there only


# ---- a real `billing serve` ----------------------------------------------------------------------
def serve(tmp_path, *args, env=None) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    return subprocess.Popen([BILLING, "serve", "--listen", f"127.0.0.1:{free_port()}", "--database",
                             f"sqlite:///{tmp_path}/b.db", *args], env={**environ, **(env or {})},
                            stderr=subprocess.PIPE, text=True)


def wait_for_console(proc: subprocess.Popen, url: str) -> httpx.Response:
    def answered():
        if proc.poll() is not None:
            raise AssertionError(f"billing serve exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            return httpx.get(url, follow_redirects=False, timeout=2)
        except httpx.TransportError:
            return None
    return wait_until(answered, 30, f"the console at {url}", interval=0.1)


def stop(proc: subprocess.Popen) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    return proc.returncode, err


def test_billing_serve_serves_the_console_and_stops_it(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{ADMIN} admin\n")
    port = free_port()
    proc = serve(tmp_path, "--tokens-file", str(tokens), "--console-listen", f"127.0.0.1:{port}")
    try:
        home = wait_for_console(proc, f"http://127.0.0.1:{port}/")
        assert home.status_code == 303 and home.headers["location"].startswith("/signin")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            page = client.get("/signin")
            csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
            signed_in = client.post("/signin", data={"csrf": csrf, "token": ADMIN, "next": "/resellers"},
                                    follow_redirects=True)
            assert signed_in.status_code == 200 and "Create Reseller" in signed_in.text  # via the gRPC port
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert f"admin console on http://127.0.0.1:{port}/" in err
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


def test_without_a_tokens_file_the_console_needs_no_sign_in(tmp_path):
    port = free_port()
    proc = serve(tmp_path, env={"BILLING_CONSOLE_LISTEN": f"127.0.0.1:{port}"})  # the environment works too
    try:
        home = wait_for_console(proc, f"http://127.0.0.1:{port}/")
        assert home.status_code == 303 and home.headers["location"] == "/resellers"
        assert "Create Reseller" in httpx.get(f"http://127.0.0.1:{port}/resellers").text
    finally:
        assert stop(proc)[0] == 0


def test_console_listen_off_serves_no_console(tmp_path):
    port = free_port()
    proc = serve(tmp_path, "--console-listen", "off", env={"BILLING_CONSOLE_LISTEN": f"127.0.0.1:{port}"})
    try:
        # serve() logs this right after it has (or, here, has not) started the console
        wait_until(lambda: proc.poll() is not None or "authentication is off" in proc.stderr.readline(), 30,
                   "the line logged after the console step")
        assert proc.poll() is None
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
    finally:
        code, err = stop(proc)
    assert code == 0 and "admin console" not in err


def test_a_console_address_in_use_stops_start_up_naming_console_listen(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = serve(tmp_path, "--console-listen", f"127.0.0.1:{port}")
        try:
            _, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode not in (0, None)
    named = [line for line in err.splitlines() if "--console-listen" in line]
    assert len(named) == 1 and f"127.0.0.1:{port}" in named[0] and "in use" in named[0], err
    assert "Traceback" not in err


# ---- start_console with TLS: HTTPS, and the gRPC certificate's own name -------------------------------
@pytest.fixture(scope="module")
def named_certificate(tmp_path_factory):
    """A self-signed certificate for billing.internal only: no 127.0.0.1 in it."""
    where = tmp_path_factory.mktemp("tls-named")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key),
                    "-out", str(cert), "-subj", "/CN=billing.internal", "-addext",
                    "subjectAltName=DNS:billing.internal"], check=True, capture_output=True, timeout=60)
    return cert, key


def test_start_console_over_tls_trusts_the_servers_certificate_by_its_name(tmp_path, tokens_file, named_certificate):
    cert, key = named_certificate
    settings = Settings(listen="127.0.0.1:0", database=parse_database_url(f"sqlite:///{tmp_path}/b.db"),
                        tokens_file=tokens_file, tls_cert=str(cert), tls_key=str(key),
                        console_listen=f"127.0.0.1:{free_port()}", console_secret=b"x" * 32)
    running = create_server(settings)
    running.server.start()
    console = start_console(running, settings)
    try:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False  # the browser would use billing.internal; the test uses 127.0.0.1
        with httpx.Client(base_url=f"https://{settings.console_listen}", verify=context) as client:
            page = client.get("/signin")
            assert "secure" in page.headers["set-cookie"].lower()
            csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
            client.post("/signin", data={"csrf": csrf, "token": ADMIN, "next": "/resellers"})
            assert "Create Reseller" in client.get("/resellers").text  # TLS to the gRPC port by its name
    finally:
        console.stop()
        running.stop(0)


def test_start_console_off_and_taken(tmp_path):
    running = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(f"sqlite:///{tmp_path}/b.db")))
    running.server.start()
    try:
        assert start_console(running, Settings()) is None
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            busy = f"127.0.0.1:{taken.getsockname()[1]}"
            with pytest.raises(ConsoleStartError, match=f"--console-listen.*{busy}"):
                start_console(running, Settings(console_listen=busy))
    finally:
        running.stop(0)
