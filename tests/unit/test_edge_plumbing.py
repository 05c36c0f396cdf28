"""Pure parts of the server edge: the Prometheus metrics (prometheus_client on a registry per server)."""
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.grpc.observability import BUCKETS, Metrics


def samples(text: str) -> dict[tuple, float]:
    """Parse the exposition text: {(sample name, sorted label items): value}."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_render_counts_cumulative_buckets_and_in_flight():
    m = Metrics()
    m.started(), m.started()
    m.finished("/a.S/M", "OK", 0.003)
    m.finished("/a.S/M", "NOT_FOUND", 99.0)
    m.started()
    text = m.render()
    got = samples(text)
    method = ("method", "/a.S/M")
    assert got[("billing_rpc_requests_total", (("code", "OK"), method))] == 1
    assert got[("billing_rpc_requests_total", (("code", "NOT_FOUND"), method))] == 1
    bucket = lambda le: got[("billing_rpc_duration_seconds_bucket", (("le", le), method))]  # noqa: E731
    assert bucket("0.001") == 0 and bucket("0.0025") == 0 and bucket("0.005") == 1
    assert bucket(str(BUCKETS[-1])) == 1 and bucket("+Inf") == 2
    assert [le for (name, labels) in got if name == "billing_rpc_duration_seconds_bucket"
            for key, le in labels if key == "le"] == [*map(str, BUCKETS), "+Inf"]
    assert got[("billing_rpc_duration_seconds_count", (method,))] == 2
    assert got[("billing_rpc_duration_seconds_sum", (method,))] == pytest.approx(99.003)
    assert got[("billing_rpc_in_flight", ())] == 1
    assert "# TYPE billing_rpc_requests_total counter" in text
    assert "# TYPE billing_rpc_duration_seconds histogram" in text
    assert "# TYPE billing_rpc_in_flight gauge" in text and text.endswith("\n")


def test_each_server_counts_on_its_own_registry():
    first, second = Metrics(), Metrics()
    first.started()
    first.finished("/a.S/M", "OK", 0.01)
    assert samples(first.render())[("billing_rpc_requests_total", (("code", "OK"), ("method", "/a.S/M")))] == 1
    assert not [k for k in samples(second.render()) if k[0] == "billing_rpc_requests_total"]
