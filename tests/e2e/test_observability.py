"""One log line per RPC (no tokens, no bodies) and the Prometheus /metrics endpoint."""
import logging
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from billing.v1 import reseller_pb2, usage_pb2
from helpers import Stubs, call, free_port, reseller
from service.config import Settings, parse_database_url
from service.server import create_server

BILLING = str(Path(sys.executable).parent / "billing")
ADMIN = "observability-admin-token-0123456789"
LINE = re.compile(r"^rpc method=/[\w.]+/\w+ code=[A-Z_]+ duration_ms=\d+\.\d{2} peer=\S+$")


@pytest.fixture
def observed(tmp_path):
    (tmp_path / "tokens").write_text(f"{ADMIN} admin\n")
    running = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(
        f"sqlite:///{tmp_path / 'billing.db'}"), tokens_file=str(tmp_path / "tokens"), metrics_listen="127.0.0.1:0"))
    running.server.start()
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
        yield running, Stubs(ch)
    running.stop(0)


def rpc_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "billing.rpc"]


def scrape(running) -> str:
    url = f"http://127.0.0.1:{running.edge.metrics_server.port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.read().decode()


def samples(text: str) -> dict[tuple, float]:
    """The scraped samples: {(sample name, sorted label items): value}."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_each_rpc_logs_one_key_value_line(observed, caplog):
    running, stubs = observed
    caplog.set_level(logging.INFO, logger="billing.rpc")
    stubs.resellers.UpsertReseller(reseller(), metadata=(("authorization", f"Bearer {ADMIN}"),))
    with pytest.raises(grpc.RpcError):
        stubs.resellers.GetReseller(reseller_pb2.GetResellerRequest(reseller_id="nope"),
                                    metadata=(("authorization", f"Bearer {ADMIN}"),))
    lines = rpc_lines(caplog)
    assert len(lines) == 2 and all(LINE.match(line) for line in lines), lines
    assert "method=/billing.v1.ResellerService/UpsertReseller code=OK" in lines[0]
    assert "method=/billing.v1.ResellerService/GetReseller code=NOT_FOUND" in lines[1]
    assert "peer=ipv" in lines[0]


def test_logs_hold_no_tokens_bodies_or_amounts(observed, caplog):
    running, stubs = observed
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-token-should-never-be-logged-42"
    bad = (("authorization", f"Bearer {wrong}"),)
    with pytest.raises(grpc.RpcError) as err:
        stubs.resellers.UpsertReseller(reseller(name="Secret Carrier"), metadata=bad)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    good = (("authorization", f"Bearer {ADMIN}"),)
    stubs.resellers.UpsertReseller(reseller(name="Secret Carrier"), metadata=good)
    stubs.usage.RecordCalls(iter([usage_pb2.CallBatch(calls=[call("c1", amount="987.654321")])]), metadata=good)
    text = caplog.text
    assert "code=UNAUTHENTICATED" in text and "RecordCalls code=OK" in text
    for secret in (wrong, ADMIN, "Secret Carrier", "987.654321", "4915112345678"):
        assert secret not in text


def test_metrics_endpoint_counts_calls_by_status_and_latency(observed):
    running, stubs = observed
    before = samples(scrape(running))
    assert before[("billing_rpc_in_flight", ())] == 0
    assert not [k for k in before if k[0] == "billing_rpc_requests_total"]
    with pytest.raises(grpc.RpcError):
        stubs.resellers.GetReseller(reseller_pb2.GetResellerRequest(reseller_id="x"))
    stubs.resellers.UpsertReseller(reseller(), metadata=(("authorization", f"Bearer {ADMIN}"),))
    text = scrape(running)
    got = samples(text)
    get, upsert = "/billing.v1.ResellerService/GetReseller", "/billing.v1.ResellerService/UpsertReseller"
    assert got[("billing_rpc_requests_total", (("code", "UNAUTHENTICATED"), ("method", get)))] == 1
    assert got[("billing_rpc_requests_total", (("code", "OK"), ("method", upsert)))] == 1
    assert got[("billing_rpc_duration_seconds_bucket", (("le", "+Inf"), ("method", upsert)))] == 1
    assert got[("billing_rpc_duration_seconds_bucket", (("le", "30.0"), ("method", upsert)))] == 1
    assert got[("billing_rpc_duration_seconds_count", (("method", upsert),))] == 1
    assert got[("billing_rpc_duration_seconds_sum", (("method", upsert),))] > 0
    assert got[("billing_rpc_in_flight", ())] == 0
    assert "# TYPE billing_rpc_in_flight gauge" in text
    assert "# TYPE billing_rpc_requests_total counter" in text
    assert "# TYPE billing_rpc_duration_seconds histogram" in text


def test_two_servers_in_one_process_keep_their_own_metrics(observed, tmp_path):
    running, stubs = observed
    other = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(
        f"sqlite:///{tmp_path / 'other.db'}"), metrics_listen="127.0.0.1:0"))
    other.server.start()
    try:
        stubs.resellers.UpsertReseller(reseller(), metadata=(("authorization", f"Bearer {ADMIN}"),))
        ours, theirs = samples(scrape(running)), samples(scrape(other))
        upsert = ("billing_rpc_requests_total",
                  (("code", "OK"), ("method", "/billing.v1.ResellerService/UpsertReseller")))
        assert ours[upsert] == 1 and upsert not in theirs
    finally:
        other.stop(0)


def test_metrics_endpoint_closes_with_the_server(tmp_path):
    running = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(
        f"sqlite:///{tmp_path / 'b.db'}"), metrics_listen="127.0.0.1:0"))
    running.server.start()
    port = running.edge.metrics_server.port
    assert "billing_rpc_in_flight" in scrape(running)
    running.stop(0)
    assert running.edge.metrics_server is None
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)


def test_metrics_serves_only_its_path(observed):
    running, _ = observed
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"http://127.0.0.1:{running.edge.metrics_server.port}/", timeout=5)
    assert err.value.code == 404


def test_metrics_are_off_by_default(server):
    assert server.edge.metrics_server is None


def test_metrics_listen_comes_from_flag_or_environment_and_is_validated():
    from service.config import ConfigError, load_settings
    assert load_settings({}, environ={}).metrics_listen is None
    assert load_settings({}, environ={"BILLING_METRICS_LISTEN": "127.0.0.1:9464"}).metrics_listen == "127.0.0.1:9464"
    assert load_settings({"metrics_listen": "127.0.0.1:1"}, environ={"BILLING_METRICS_LISTEN": "x"}).metrics_listen \
        == "127.0.0.1:1"
    with pytest.raises(ConfigError, match="--metrics-listen"):
        load_settings({"metrics_listen": "nonsense"}, environ={})


def test_serve_with_the_metrics_flag_logs_and_serves_the_endpoint(tmp_path):
    port, metrics_port = free_port(), free_port()
    proc = subprocess.Popen([BILLING, "serve", "--listen", f"127.0.0.1:{port}", "--database",
                             f"sqlite:///{tmp_path}/b.db", "--metrics-listen", f"127.0.0.1:{metrics_port}"],
                            stderr=subprocess.PIPE, text=True)
    try:
        serving = next((line for line in proc.stderr if "serving on" in line), "")  # once the ports are bound
        assert f"metrics on 127.0.0.1:{metrics_port}/metrics" in serving, serving
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            Stubs(ch).resellers.UpsertReseller(reseller())
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
            got = samples(response.read().decode())
        assert got[("billing_rpc_requests_total",
                    (("code", "OK"), ("method", "/billing.v1.ResellerService/UpsertReseller")))] == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
