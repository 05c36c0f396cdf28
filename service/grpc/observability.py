"""One log line per RPC and Prometheus metrics (/metrics): counts by status, latency histogram, in-flight gauge.

The metrics live in prometheus_client objects on a registry of their own per server (not the process-wide
default registry), so several servers in one process never share or clash over them."""
import logging
import socket
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from service.grpc.handlers import rewrap

log = logging.getLogger("billing.rpc")
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The three RPC metrics on their own `CollectorRegistry`."""

    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("billing_rpc_requests_total", "RPCs finished, by method and status code.",
                                ["method", "code"], registry=self.registry)
        self.duration = Histogram("billing_rpc_duration_seconds",
                                  "RPC latency, from the first request byte to the status.", ["method"],
                                  buckets=BUCKETS, registry=self.registry)
        self.in_flight = Gauge("billing_rpc_in_flight", "RPCs being served now.", registry=self.registry)

    def started(self) -> None:
        self.in_flight.inc()

    def finished(self, method: str, code: str, seconds: float) -> None:
        self.in_flight.dec()
        self.requests.labels(method=method, code=code).inc()
        self.duration.labels(method=method).observe(seconds)

    def render(self) -> str:
        """The Prometheus text format (0.0.4), as served on /metrics."""
        return generate_latest(self.registry).decode()


class Observer:
    """Logs `rpc method=… code=… duration_ms=… peer=…` per RPC and feeds Metrics. No metadata, no bodies."""

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def observed(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """`handler` logged and counted as `method`."""
        return rewrap(handler, lambda behaviour, streaming: (
            self._streaming(behaviour, method) if streaming else self._unary(behaviour, method)))

    def _unary(self, behaviour, method):
        def run(request, context):
            start = self._begin()
            code = "UNKNOWN"
            try:
                response = behaviour(request, context)
                code = _code(context, "OK")
                return response
            except BaseException:
                code = _code(context, "UNKNOWN")
                raise
            finally:
                self._end(method, code, start, context)
        return run

    def _streaming(self, behaviour, method):
        def run(request, context):
            start = self._begin()
            code = "UNKNOWN"
            try:
                yield from behaviour(request, context)
                code = _code(context, "OK")
            except GeneratorExit:  # the client went away or cancelled
                code = "CANCELLED"
                raise
            except BaseException:
                code = _code(context, "UNKNOWN")
                raise
            finally:
                self._end(method, code, start, context)
        return run

    def _begin(self) -> float:
        self.metrics.started()
        return time.perf_counter()

    def _end(self, method: str, code: str, start: float, context) -> None:
        seconds = time.perf_counter() - start
        self.metrics.finished(method, code, seconds)
        log.info("rpc method=%s code=%s duration_ms=%.2f peer=%s", method, code, seconds * 1000, _peer(context))


def _code(context, default: str) -> str:
    code = context.code()
    return code.name if isinstance(code, grpc.StatusCode) else default


def _peer(context) -> str:
    try:
        return "".join(ch for ch in context.peer() if ch.isprintable() and not ch.isspace()) or "-"
    except Exception:  # noqa: BLE001 - a log line must never fail the RPC
        return "-"


class MetricsServer:
    """GET /metrics on its own port: prometheus_client's WSGI app on its threading WSGI server, in a daemon
    thread; any other path is 404. `close()` stops it and releases the port."""

    def __init__(self, listen: str, metrics: Metrics):
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        family = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        server_class = type("MetricsHTTPServer", (ThreadingWSGIServer,), {"address_family": family})
        self._http = make_server(host, int(port), _only_metrics(make_wsgi_app(metrics.registry)), server_class,
                                 handler_class=_QuietHandler)
        self.port = self._http.server_address[1]
        # Polls for `close()` every 0.1 s (the default 0.5 s would add that much to every stop).
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.1,), name="metrics", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()


def _only_metrics(app):
    def serve(environ, start_response):
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"only /metrics is served here\n"]
        return app(environ, start_response)
    return serve


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # scrapes are not worth a log line each
        pass
