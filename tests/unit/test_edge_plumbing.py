"""Pure parts of the server edge: the Prometheus rendering."""
from service.grpc.observability import BUCKETS, Metrics


def test_metrics_render_counts_cumulative_buckets_and_in_flight():
    m = Metrics()
    m.started(), m.started()
    m.finished("/a.S/M", "OK", 0.003)
    m.finished("/a.S/M", "NOT_FOUND", 99.0)
    m.started()
    text = m.render()
    assert 'billing_rpc_requests_total{method="/a.S/M",code="OK"} 1' in text
    assert 'billing_rpc_requests_total{method="/a.S/M",code="NOT_FOUND"} 1' in text
    assert 'billing_rpc_duration_seconds_bucket{method="/a.S/M",le="0.001"} 0' in text
    assert 'billing_rpc_duration_seconds_bucket{method="/a.S/M",le="0.005"} 1' in text
    assert f'billing_rpc_duration_seconds_bucket{{method="/a.S/M",le="{BUCKETS[-1]}"}} 1' in text
    assert 'billing_rpc_duration_seconds_bucket{method="/a.S/M",le="+Inf"} 2' in text
    assert 'billing_rpc_duration_seconds_count{method="/a.S/M"} 2' in text
    assert "billing_rpc_in_flight 1" in text and text.endswith("\n")
