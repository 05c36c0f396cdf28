"""Opaque page tokens: url-safe base64 of a small JSON cursor."""
import base64
import json

from domain.errors import InvalidArgument


def encode(cursor: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(token: str, keys: tuple[str, ...]) -> dict | None:
    if not token:
        return None
    try:
        cursor = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if isinstance(cursor, dict) and all(k in cursor for k in keys):
            return cursor
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidArgument("page_token", "not a token this server issued")
