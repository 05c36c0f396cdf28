"""Sessions in a signed cookie, the CSRF token tied to them, and sign-in (token → role).

The cookie holds the bearer token the user typed, their role and a random CSRF value, signed
with itsdangerous (HMAC; tampering invalidates it) and time-limited. It is not encrypted: it
stays HttpOnly (scripts cannot read it), SameSite=Strict, `Secure` under TLS and expires after
SESSION_HOURS. A stateless cookie lets several server processes that share
BILLING_CONSOLE_SECRET serve one console address.
"""
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

import grpc
from itsdangerous import BadSignature, URLSafeTimedSerializer

from service.console.api import Api, ApiError

COOKIE = "billing_console"
SESSION_HOURS = 12
ROLE_PROBE_PATTERN = "%num%%num%"  # never valid: %num% must appear exactly once (SPEC §6)


@dataclass
class Session:
    token: str = ""
    role: str = ""  # "admin" | "auditor" | "" (not signed in)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    flash: str = ""
    dirty: bool = True  # needs a Set-Cookie on the response
    position: int = 0  # event-store position of this user's latest write: lists wait for it (read your writes)

    @property
    def can_write(self) -> bool:
        return self.role == "admin"

    def csrf_ok(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(presented.encode(), self.csrf.encode())

    def take_flash(self) -> str:
        message, self.flash = self.flash, ""
        if message:
            self.dirty = True
        return message

    def say(self, message: str) -> None:
        self.flash, self.dirty = message, True

    def wrote(self, position: int) -> None:
        if position > self.position:
            self.position, self.dirty = position, True


class SessionCodec:
    """Signs sessions into cookie values and back; a bad, expired or signed-out cookie is a fresh session.

    Sign-out also remembers the session's CSRF value (unique per session) in this process for
    SESSION_HOURS, so a copy of the old cookie no longer works here.
    """

    def __init__(self, secret: bytes):
        self.serializer = URLSafeTimedSerializer(secret, salt="billing-console-session")
        self._revoked: dict[str, float] = {}
        self._lock = threading.Lock()

    def revoke(self, session: Session) -> None:
        now = time.monotonic()
        with self._lock:
            self._revoked = {k: t for k, t in self._revoked.items() if now - t < SESSION_HOURS * 3600}
            self._revoked[session.csrf] = now

    def dumps(self, session: Session) -> str:
        return self.serializer.dumps({"t": session.token, "r": session.role, "c": session.csrf, "f": session.flash,
                                      "p": session.position})

    def loads(self, value: str | None) -> Session:
        if value:
            try:
                data = self.serializer.loads(value, max_age=SESSION_HOURS * 3600)
                if data["c"] in self._revoked:
                    return Session()
                position = data.get("p", 0)
                return Session(data["t"], data["r"], data["c"], data.get("f", ""), dirty=False,
                               position=position if isinstance(position, int) and position > 0 else 0)
            except (BadSignature, KeyError, TypeError):
                pass
        return Session()


class SignInRefused(Exception):
    """The token cannot sign in to the console; the message says why in plain words."""


def detect_role(api: Api, token: str) -> str:
    """Ask the server what `token` may do, writing nothing; returns "admin" or "auditor".

    1. `ResellerService.ListResellers` (a read): UNAUTHENTICATED = unknown token; PERMISSION_DENIED =
       a `switch` token (it may read only GetReseller) → refused; OK = auditor or admin.
    2. `NumberingService.UpdateNumbering` with the pattern "%num%%num%", which is never valid. The
       server checks the role before it looks at the request (the auth interceptor runs first),
       so an auditor gets PERMISSION_DENIED, while an admin gets INVALID_ARGUMENT from the pattern
       check, which happens before anything is saved. Nothing is written either way, and no
       extra RPC or server-side knowledge of the console is needed.
    """
    try:
        api.call(token, "ResellerService", "ListResellers", page_size=1)
    except ApiError as e:
        if e.code == grpc.StatusCode.UNAUTHENTICATED:
            raise SignInRefused("This token is not known to the billing server.") from None
        if e.code == grpc.StatusCode.PERMISSION_DENIED:
            raise SignInRefused("This token belongs to a switch: the console is for admin and auditor "
                                "tokens only.") from None
        raise SignInRefused(e.message) from None
    try:
        api.call(token, "NumberingService", "UpdateNumbering", pattern=ROLE_PROBE_PATTERN)
    except ApiError as e:
        if e.code == grpc.StatusCode.PERMISSION_DENIED:
            return "auditor"
        if e.code == grpc.StatusCode.INVALID_ARGUMENT:
            return "admin"
        raise SignInRefused(e.message) from None
    raise SignInRefused("Could not determine the role of this token.")
