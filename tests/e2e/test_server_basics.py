"""Start-up, configuration, health, reflection, limits, error hygiene and shutdown of the real server."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from billing.v1 import reseller_pb2, usage_pb2
from helpers import Stubs, call, free_port, reseller

BILLING = str(Path(sys.executable).parent / "billing")
EXPECTED_SERVICES = {"billing.v1.ResellerService", "billing.v1.UsageService", "billing.v1.InvoiceService",
                     "billing.v1.NumberingService", "billing.v1.TemplateService", "billing.v1.AuditService",
                     "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}


def test_health_reports_serving(channel):
    response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_every_service(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert EXPECTED_SERVICES <= names


def test_unexpected_exception_is_internal_without_traceback(channel, server, monkeypatch):
    def explode(*_):
        raise RuntimeError("secret-internal-detail")
    monkeypatch.setattr(server.use_cases.resellers, "get_with_position", explode)
    with pytest.raises(grpc.RpcError) as err:
        Stubs(channel).resellers.GetReseller(reseller_pb2.GetResellerRequest(reseller_id="r1"))
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in err.value.details() and "Traceback" not in err.value.details()


def test_oversized_message_is_refused(channel):
    huge = call("x", group="g" * (9 * 1024 * 1024))
    with pytest.raises(grpc.RpcError) as err:
        Stubs(channel).usage.RecordCalls(iter([usage_pb2.CallBatch(calls=[huge])]))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def run_serve(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([BILLING, "serve", *args], capture_output=True, text=True, timeout=30,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args,env,names", [
    (["--listen", "nonsense"], {}, "--listen"),
    (["--listen", "127.0.0.1:99999"], {}, "--listen"),
    ([], {"BILLING_LISTEN": "nohost"}, "BILLING_LISTEN"),
    (["--database", "mysql://x/y"], {}, "BILLING_DATABASE_URL"),
    (["--database", "sqlite:////no/such/dir/x.db"], {}, "BILLING_DATABASE_URL"),
    (["--listen", "0.0.0.0:50999"], {}, "--tokens-file"),
    (["--tls-cert", "/nonexistent.pem"], {}, "--tls-cert"),
    (["--grace-seconds", "soon"], {}, "--grace-seconds"),
])
def test_a_bad_setting_stops_start_up_with_one_line_naming_it(tmp_path, args, env, names):
    result = run_serve(*args, env={"BILLING_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", **env})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0], result.stderr


def test_flag_overrides_environment(tmp_path):
    result = run_serve("--listen", "bad-flag", env={"BILLING_LISTEN": "127.0.0.1:1"})
    assert "bad-flag" in result.stderr


def test_sigterm_drains_in_flight_calls_and_exits_zero(tmp_path):
    port = free_port()
    proc = subprocess.Popen([BILLING, "serve", "--listen", f"127.0.0.1:{port}", "--database",
                             f"sqlite:///{tmp_path}/b.db"], stderr=subprocess.PIPE, text=True)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            grpc.channel_ready_future(ch).result(timeout=20)
            stubs = Stubs(ch)
            stubs.resellers.UpsertReseller(reseller())
            sent = []

            def batches():  # a stream still open when SIGTERM arrives
                yield usage_pb2.CallBatch(calls=[call("a")])
                proc.send_signal(signal.SIGTERM)
                for line in proc.stderr:  # the server has begun shutting down ...
                    if "shutting down" in line:
                        break
                sent.append(1)  # ... and this stream is still open: it must be served to the end
                yield usage_pb2.CallBatch(calls=[call("b")])
            result = stubs.usage.RecordCalls(batches())
        assert result.accepted == 2 and sent
        assert proc.wait(timeout=30) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        proc.kill()
