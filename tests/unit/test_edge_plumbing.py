"""Pure parts of the server edge: the Prometheus metrics (prometheus_client on a registry per server) and
the one interceptor (a handler built once per method, the token checked per call)."""
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


# ---- the one interceptor: each method's handler built once, the token checked per call ----------
class _Details:
    def __init__(self, method: str, token: str | None = None):
        self.method = method
        self.invocation_metadata = (("authorization", f"Bearer {token}"),) if token else ()


class _Aborted(Exception):
    pass


class _Context:
    def __init__(self):
        self.status = None

    def abort(self, code, message):
        self.status = code
        raise _Aborted(message)

    def abort_with_status(self, status):
        self.abort(status.code, status.details)

    def code(self):
        return self.status

    def peer(self):
        return "ipv4:127.0.0.1:1"


def _edge(tmp_path=None):
    import grpc

    from service.grpc.auth import Authenticator, TokenStore
    from service.grpc.edge import EdgeInterceptor
    from service.grpc.observability import Observer
    auth = None
    if tmp_path is not None:
        (tmp_path / "tokens").write_text(f"{'a' * 32} admin\n{'s' * 32} switch\n")
        auth = Authenticator(TokenStore(str(tmp_path / "tokens")))
    metrics = Metrics()
    handlers = {"/billing.v1.InvoiceService/CreateInvoice": grpc.unary_unary_rpc_method_handler(
        lambda request, context: f"served {request}", request_deserializer=bytes.decode)}
    asked = []

    def continuation(details):
        asked.append(details.method)
        return handlers.get(details.method)
    return EdgeInterceptor(Observer(metrics), auth), continuation, asked, metrics


def test_edge_builds_a_methods_handler_once_and_serves_it_logged_and_decoding():
    edge, continuation, asked, metrics = _edge()
    method = "/billing.v1.InvoiceService/CreateInvoice"
    first = edge.intercept_service(continuation, _Details(method))
    assert edge.intercept_service(continuation, _Details(method)) is first
    assert asked == [method]  # the registered handlers were asked once
    assert first.unary_unary(first.request_deserializer(b"x"), _Context()) == "served x"
    context = _Context()
    with pytest.raises(_Aborted):  # undecodable bytes: INVALID_ARGUMENT, not INTERNAL
        first.unary_unary(first.request_deserializer(b"\xff"), context)
    assert context.status.name == "INVALID_ARGUMENT"
    counted = samples(metrics.render())
    assert counted[("billing_rpc_requests_total", (("code", "OK"), ("method", method)))] == 1
    assert counted[("billing_rpc_requests_total", (("code", "INVALID_ARGUMENT"), ("method", method)))] == 1
    assert edge.intercept_service(continuation, _Details("/no.Such/Method")) is None  # UNIMPLEMENTED
    assert edge.intercept_service(continuation, _Details("/no.Such/Method")) is None
    assert asked == [method, "/no.Such/Method", "/no.Such/Method"]  # unknown methods are never kept


def test_edge_checks_the_token_of_every_call_even_when_the_handler_is_kept(tmp_path):
    edge, continuation, _, metrics = _edge(tmp_path)
    method = "/billing.v1.InvoiceService/CreateInvoice"
    allowed = edge.intercept_service(continuation, _Details(method, "a" * 32))
    for token, code in ((None, "UNAUTHENTICATED"), ("s" * 32, "PERMISSION_DENIED"), ("x" * 32, "UNAUTHENTICATED")):
        refused = edge.intercept_service(continuation, _Details(method, token))
        assert refused is not allowed
        context = _Context()
        with pytest.raises(_Aborted):
            refused.unary_unary(refused.request_deserializer(b"\xff"), context)  # refused before decoding
        assert context.status.name == code
    assert edge.intercept_service(continuation, _Details(method, "a" * 32)) is allowed
    counted = samples(metrics.render())
    assert counted[("billing_rpc_requests_total", (("code", "UNAUTHENTICATED"), ("method", method)))] == 2
    assert counted[("billing_rpc_requests_total", (("code", "PERMISSION_DENIED"), ("method", method)))] == 1
