"""The tokens file (SPEC §9): one `TOKEN ROLE` per line; parsed at start-up and on SIGHUP."""
import hmac
import logging
from pathlib import Path

from service.config_error import ConfigError

log = logging.getLogger("billing.auth")

ROLES = ("switch", "auditor", "admin")
SETTING = "BILLING_TOKENS_FILE / --tokens-file"
MIN_TOKEN_LENGTH = 16


def parse_tokens(path: str) -> list[tuple[bytes, str]]:
    """Read `token role` lines; raise ConfigError naming the file and line on the first bad one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{SETTING}: cannot read {path!r}: {e}") from None
    tokens: list[tuple[bytes, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        where = f"{SETTING}: {path}:{number}"
        if len(words) != 2:
            raise ConfigError(f"{where}: want 'TOKEN ROLE', got {len(words)} words")
        token, role = words
        if role not in ROLES:
            raise ConfigError(f"{where}: unknown role {role!r} (want one of {', '.join(ROLES)})")
        if len(token) < MIN_TOKEN_LENGTH:
            log.warning("%s: token shorter than %d characters is easy to guess", where, MIN_TOKEN_LENGTH)
        if any(hmac.compare_digest(token.encode(), known) for known, _ in tokens):
            raise ConfigError(f"{where}: duplicate token")
        tokens.append((token.encode(), role))
    if not tokens:
        raise ConfigError(f"{SETTING}: {path!r} holds no tokens")
    return tokens
