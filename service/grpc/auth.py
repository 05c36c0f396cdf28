"""Bearer-token authentication and role-based access (SPEC §9): tokens file, access table, interceptor."""
import hmac
import logging
import threading

import grpc

from service.config_error import ConfigError
from service.grpc.handlers import rewrap
from service.tokens import parse_tokens

log = logging.getLogger("billing.auth")

EXEMPT_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")  # no token needed

# The one access table. A method is a read when its name starts with one of READ_PREFIXES or its
# service is a read-only service; a write when named in WRITES. tests/unit/test_auth.py checks
# that every RPC of every billing.v1 service is exactly one of the two.
READ_PREFIXES = ("Get", "List", "Search", "Calculate", "Render", "Preview", "Export", "Verify")
READ_SERVICES = frozenset({"billing.v1.AuditService"})
WRITES = frozenset({"UpsertReseller", "RecordCalls", "CreateInvoice", "VoidInvoice", "UpdateNumbering",
                    "UploadTemplate", "SetDefaultTemplate", "UpdateSeller", "RebuildProjections", "IssueCreditNote",
                    "UpsertSeries", "RecordPayment", "RecordRefund"})
SWITCH = frozenset({"/billing.v1.UsageService/RecordCalls", "/billing.v1.UsageService/GetUsageSummary",
                    "/billing.v1.ResellerService/GetReseller"})


def classify(full_method: str) -> str | None:
    """'read', 'write' or None (unknown: only admin may call it) for '/pkg.Service/Method'."""
    service, _, name = full_method.lstrip("/").partition("/")
    if service in READ_SERVICES or name.startswith(READ_PREFIXES):
        return "read"
    return "write" if name in WRITES else None


def may_call(role: str, full_method: str) -> bool:
    if role == "admin":
        return True
    if role == "auditor":
        return classify(full_method) == "read"
    return role == "switch" and full_method in SWITCH


class TokenStore:
    """The tokens in force; `reload()` (on SIGHUP) swaps them only if the new file is valid."""

    def __init__(self, path: str):
        self.path = path
        self._tokens = parse_tokens(path)
        self._lock = threading.Lock()

    def reload(self) -> bool:
        try:
            tokens = parse_tokens(self.path)
        except ConfigError as e:
            log.error("tokens file not reloaded, keeping the previous tokens: %s", e)
            return False
        with self._lock:
            self._tokens = tokens
        log.info("tokens file reloaded: %d tokens", len(tokens))
        return True

    def role_of(self, token: str) -> str | None:
        """The role of `token`; compares against every known token in constant time per token."""
        presented, role = token.encode("utf-8", "replace"), None
        for known, known_role in self._tokens:  # no early exit: timing does not reveal which one matched
            if hmac.compare_digest(presented, known):
                role = known_role
        return role


def bearer_token(metadata) -> str | None:
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class Authenticator:
    """Every RPC but health and reflection needs a known token whose role may call the method."""

    def __init__(self, store: TokenStore):
        self.store = store

    def refusal(self, details: grpc.HandlerCallDetails) -> tuple[grpc.StatusCode, str] | None:
        """Why this call may not go on (status code, message), or None when it may."""
        if details.method.startswith(EXEMPT_PREFIXES):
            return None
        token = bearer_token(details.invocation_metadata)
        role = self.store.role_of(token) if token else None
        if role is None:
            return (grpc.StatusCode.UNAUTHENTICATED,
                    "missing or unknown bearer token (metadata 'authorization: Bearer <token>')")
        if not may_call(role, details.method):
            return grpc.StatusCode.PERMISSION_DENIED, f"role {role!r} may not call {details.method}"
        return None


def refusing(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    """A handler of the same kind as `handler` that ends every call with `code`."""
    def refuse(request, context):
        context.abort(code, message)

    return rewrap(handler, lambda behaviour, streaming: refuse)
