"""One log line per RPC and Prometheus metrics (/metrics): counts by status, latency histogram, in-flight gauge."""
import logging
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc

from service.grpc.handlers import rewrap

log = logging.getLogger("billing.rpc")
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Counters and histograms in memory, rendered in the Prometheus text format (version 0.0.4)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str], int] = defaultdict(int)
        self._buckets: dict[str, list[int]] = {}
        self._sums: dict[str, float] = defaultdict(float)
        self._in_flight = 0

    def started(self) -> None:
        with self._lock:
            self._in_flight += 1

    def finished(self, method: str, code: str, seconds: float) -> None:
        with self._lock:
            self._in_flight -= 1
            self._requests[(method, code)] += 1
            counts = self._buckets.setdefault(method, [0] * (len(BUCKETS) + 1))
            counts[next((i for i, b in enumerate(BUCKETS) if seconds <= b), len(BUCKETS))] += 1
            self._sums[method] += seconds

    def render(self) -> str:
        with self._lock:
            out = ["# HELP billing_rpc_requests_total RPCs finished, by method and status code.",
                   "# TYPE billing_rpc_requests_total counter"]
            out += [f'billing_rpc_requests_total{{method="{m}",code="{c}"}} {n}'
                    for (m, c), n in sorted(self._requests.items())]
            out += ["# HELP billing_rpc_duration_seconds RPC latency, from the first request byte to the status.",
                    "# TYPE billing_rpc_duration_seconds histogram"]
            for method, counts in sorted(self._buckets.items()):
                running = 0
                for bound, n in zip([*map(str, BUCKETS), "+Inf"], counts):
                    running += n
                    out.append(f'billing_rpc_duration_seconds_bucket{{method="{method}",le="{bound}"}} {running}')
                out.append(f'billing_rpc_duration_seconds_sum{{method="{method}"}} {self._sums[method]:.6f}')
                out.append(f'billing_rpc_duration_seconds_count{{method="{method}"}} {running}')
            out += ["# HELP billing_rpc_in_flight RPCs being served now.", "# TYPE billing_rpc_in_flight gauge",
                    f"billing_rpc_in_flight {self._in_flight}"]
        return "\n".join(out) + "\n"


class ObservabilityInterceptor(grpc.ServerInterceptor):
    """Logs `rpc method=… code=… duration_ms=… peer=…` per RPC and feeds Metrics. No metadata, no bodies."""

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None:
            return handler
        method = details.method
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
    """GET /metrics on its own port, served by a daemon thread; `close()` stops it."""

    def __init__(self, listen: str, metrics: Metrics):
        host, _, port = listen.rpartition(":")
        handler = type("Handler", (_MetricsHandler,), {"metrics": metrics})
        self._http = ThreadingHTTPServer((host.strip("[]"), int(port)), handler)
        self._http.daemon_threads = True
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, name="metrics", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


class _MetricsHandler(BaseHTTPRequestHandler):
    metrics: Metrics

    def do_GET(self):  # noqa: N802 - http.server API
        if self.path.split("?")[0] != "/metrics":
            self.send_error(404, "only /metrics is served here")
            return
        body = self.metrics.render().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # scrapes are not worth a log line each
        pass
