"""The server's edge: interceptors (log/metrics, auth, decoding), the gRPC port (TLS or not), /metrics
(prometheus_client, on this server's own registry)."""
import logging
from pathlib import Path

import grpc

from service.config import Settings
from service.grpc.auth import AuthInterceptor, TokenStore
from service.grpc.handlers import DecodeInterceptor
from service.grpc.observability import Metrics, MetricsServer, ObservabilityInterceptor

log = logging.getLogger("billing.server")


class Edge:
    """Built from the settings before the gRPC server; `open_ports` binds, `close` releases."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.tokens = TokenStore(settings.tokens_file) if settings.tokens_file else None
        self.metrics = Metrics()  # a registry per server: servers in one process never share counters
        self.metrics_server: MetricsServer | None = None
        # Outermost first: every RPC is logged and counted, denials included; auth before decoding.
        self.interceptors = [ObservabilityInterceptor(self.metrics),
                             *([AuthInterceptor(self.tokens)] if self.tokens else []), DecodeInterceptor()]

    def open_ports(self, server: grpc.Server) -> int:
        """Bind the gRPC port (TLS when a certificate is configured) and start /metrics; returns the port."""
        s = self.settings
        if s.tls_cert and s.tls_key:
            credentials = grpc.ssl_server_credentials([(Path(s.tls_key).read_bytes(), Path(s.tls_cert).read_bytes())])
            port = server.add_secure_port(s.listen, credentials)
        else:
            port = server.add_insecure_port(s.listen)
        if s.metrics_listen:
            try:
                self.metrics_server = MetricsServer(s.metrics_listen, self.metrics)
            except OSError as e:
                raise RuntimeError(f"metrics endpoint {s.metrics_listen}: {e}") from None
        return port

    def describe(self) -> str:
        s = self.settings
        parts = ["TLS" if s.tls_cert else "plaintext",
                 f"tokens from {s.tokens_file}" if self.tokens else "authentication off"]
        if self.metrics_server:
            parts.append(f"metrics on {s.metrics_listen.rpartition(':')[0]}:{self.metrics_server.port}/metrics")
        return ", ".join(parts)

    def reload_tokens(self) -> None:
        if self.tokens:
            self.tokens.reload()

    def close(self) -> None:
        """Stop /metrics and release its port."""
        if self.metrics_server:
            self.metrics_server.close()
            self.metrics_server = None
