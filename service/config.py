"""Settings read once at start-up: flags > environment > defaults (SPEC §2)."""
import ipaddress
import os
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlparse

from service.config_error import ConfigError
from service.tokens import parse_tokens


@dataclass(frozen=True)
class Database:
    kind: str  # "sqlite" or "postgres"
    path: str = ""  # sqlite file
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    synchronous: str = "NORMAL"  # SQLite only; see service/persistence/sqlite_store.py


@dataclass(frozen=True)
class Settings:
    listen: str = "127.0.0.1:50051"
    database: Database = Database("sqlite", path="billing.db")
    tokens_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    grace_seconds: float = 10.0
    workers: int = 16
    metrics_listen: str | None = None  # HOST:PORT of the Prometheus /metrics endpoint; None = off
    # The admin console (SPEC §16). load_settings defaults it to 127.0.0.1:8080; None = off (also the
    # default of a Settings built in code, e.g. by tests: create_server never starts the console).
    console_listen: str | None = None
    console_secret: bytes | None = None  # session signing key; None = random per start
    # Boot and warm the render workers at start-up (in the background) rather than on the first
    # render: on for `billing serve` (load_settings), off for servers built in tests.
    warm_render_pool: bool = False


SERVER_SETTINGS = {  # flag name -> environment variable
    "listen": "BILLING_LISTEN", "database": "BILLING_DATABASE_URL",
    "tokens_file": "BILLING_TOKENS_FILE", "tls_cert": "BILLING_TLS_CERT", "tls_key": "BILLING_TLS_KEY",
    "grace_seconds": "BILLING_GRACE_SECONDS", "metrics_listen": "BILLING_METRICS_LISTEN",
    "sqlite_synchronous": "BILLING_SQLITE_SYNCHRONOUS",
    "console_listen": "BILLING_CONSOLE_LISTEN", "console_secret": "BILLING_CONSOLE_SECRET",
}
CONSOLE_LISTEN_DEFAULT = "127.0.0.1:8080"
CONSOLE_SECRET_MIN = 16  # characters of BILLING_CONSOLE_SECRET


def parse_database_url(url: str) -> Database:
    where = "BILLING_DATABASE_URL / --database"
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if not path:
            raise ConfigError(f"{where}: sqlite URL has no file name: {url!r}")
        if path.startswith("file:"):  # shared in-memory databases for tests
            return Database("sqlite", path=path)
        parent = Path(path).resolve().parent
        if not parent.is_dir():
            raise ConfigError(f"{where}: directory {str(parent)!r} does not exist")
        return Database("sqlite", path=path)
    if url.startswith(("postgresql://", "postgres://")):
        u = urlparse(url)
        dbname = u.path.lstrip("/")
        if not u.hostname or not dbname:
            raise ConfigError(f"{where}: want postgresql://user@host:port/dbname, got {url!r}")
        try:
            port = u.port or 5432
        except ValueError:
            raise ConfigError(f"{where}: bad port in {url!r}") from None
        return Database("postgres", host=u.hostname, port=port, user=unquote(u.username or "postgres"),
                        password=unquote(u.password or ""), dbname=dbname)
    raise ConfigError(f"{where}: unsupported URL {url!r} (use sqlite:///FILE or postgresql://...)")


def parse_listen(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"BILLING_LISTEN / --listen: want HOST:PORT, got {value!r}")
    return value


def is_loopback(listen: str) -> bool:
    host = listen.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(flags: dict, environ=os.environ) -> Settings:
    """Merge flags (None = not given) over environment over defaults, validating each value."""
    def pick(name: str, default):
        value = flags.get(name)
        return value if value is not None else environ.get(SERVER_SETTINGS[name], default)

    listen = parse_listen(pick("listen", "127.0.0.1:50051"))
    database = parse_database_url(pick("database", "sqlite:///billing.db"))
    synchronous = str(pick("sqlite_synchronous", "NORMAL")).upper()
    if synchronous not in ("NORMAL", "FULL"):
        raise ConfigError("BILLING_SQLITE_SYNCHRONOUS / --sqlite-synchronous: want NORMAL or FULL")
    database = replace(database, synchronous=synchronous)
    tokens, cert, key = pick("tokens_file", None) or None, pick("tls_cert", None) or None, pick("tls_key", None) or None
    for name, path in (("BILLING_TOKENS_FILE / --tokens-file", tokens), ("BILLING_TLS_CERT / --tls-cert", cert),
                       ("BILLING_TLS_KEY / --tls-key", key)):
        if path and not Path(path).is_file():
            raise ConfigError(f"{name}: file {path!r} not found")
    if bool(cert) != bool(key):
        raise ConfigError("BILLING_TLS_CERT / --tls-cert and BILLING_TLS_KEY / --tls-key must be given together")
    for name, path, marker in (("BILLING_TLS_CERT / --tls-cert", cert, "-----BEGIN CERTIFICATE-----"),
                               ("BILLING_TLS_KEY / --tls-key", key, "PRIVATE KEY-----")):
        if path and marker not in Path(path).read_text(encoding="ascii", errors="replace"):
            raise ConfigError(f"{name}: {path!r} is not a PEM file (no {marker!r} block)")
    try:
        grace = float(pick("grace_seconds", "10"))
    except ValueError:
        raise ConfigError("BILLING_GRACE_SECONDS / --grace-seconds: not a number") from None
    if not 0 <= grace <= 600:
        raise ConfigError("BILLING_GRACE_SECONDS / --grace-seconds: must be between 0 and 600")
    if not tokens and not is_loopback(listen):
        raise ConfigError(f"--listen {listen} is not a loopback address: refusing to serve without "
                          "authentication; give --tokens-file / BILLING_TOKENS_FILE")
    if tokens:
        parse_tokens(tokens)  # a bad line stops start-up, naming file and line
    metrics = pick("metrics_listen", None) or None
    if metrics:
        try:
            parse_listen(metrics)
        except ConfigError:
            raise ConfigError(f"BILLING_METRICS_LISTEN / --metrics-listen: want HOST:PORT, got {metrics!r}") from None
    console_listen, console_secret = console_settings(pick, tokens)
    return Settings(listen, database, tokens, cert, key, grace, metrics_listen=metrics,
                    console_listen=console_listen, console_secret=console_secret, warm_render_pool=True)


def console_settings(pick, tokens: str | None) -> tuple[str | None, bytes | None]:
    """The console's address (None = "off") and session secret (None = random per start), validated.

    The secret comes from the environment only (BILLING_CONSOLE_SECRET): a flag would show it in `ps`.
    """
    listen = str(pick("console_listen", "") or "").strip() or CONSOLE_LISTEN_DEFAULT
    if listen.lower() == "off":
        listen = None
    else:
        try:
            parse_listen(listen)
        except ConfigError:
            raise ConfigError(f"BILLING_CONSOLE_LISTEN / --console-listen: want HOST:PORT or off, got {listen!r}") \
                from None
        if not tokens and not is_loopback(listen):
            raise ConfigError(f"--console-listen {listen} is not a loopback address: refusing to serve the console "
                              "without authentication; give --tokens-file / BILLING_TOKENS_FILE (or "
                              "--console-listen off)")
    secret = str(pick("console_secret", "") or "")
    if secret and len(secret) < CONSOLE_SECRET_MIN:
        raise ConfigError(f"BILLING_CONSOLE_SECRET: use at least {CONSOLE_SECRET_MIN} characters "
                          "(a long random string shared by the servers behind one console address)")
    return listen, secret.encode() if secret else None
