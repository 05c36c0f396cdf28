"""The `billing` command: `billing serve` and the admin commands (over gRPC)."""
import argparse
import importlib
import logging
import sys

from service.config import ConfigError, load_settings

# Admin command groups: one module under service/cli_commands/ each, exposing NAME and register(sub, common).
# (`statement` is a single top-level command.)
COMMAND_GROUPS = ["resellers", "usage", "invoices", "credit_notes", "payments", "statement", "numbering", "audit",
                  "projections", "templates", "seller",
                  "invoice_pdf"]  # invoice_pdf adds `invoices pdf|xml`: after invoices

EPILOG = """receivables: invoices are corrected by `credit-notes issue`, paid with `payments record`;
`statement RESELLER --as-of D` shows who owes what since when; `invoices pdf --facturx` and
`invoices xml --syntax cii|ubl` (and the same for credit notes) produce EN 16931 e-invoices.

exit codes: 0 ok; 1 server error; 2 usage error or INVALID_ARGUMENT; 3 calls rejected on import;
4 NOT_FOUND; 5 FAILED_PRECONDITION/ALREADY_EXISTS/ABORTED; 6 UNAUTHENTICATED/PERMISSION_DENIED;
7 server unreachable; 8 `audit verify` found problems"""


def add_serve(sub) -> None:
    p = sub.add_parser("serve", help="run the gRPC server")
    p.add_argument("--listen", help="HOST:PORT (env BILLING_LISTEN, default 127.0.0.1:50051)")
    p.add_argument("--database", help="sqlite:///FILE or postgresql://user@host:port/db (env BILLING_DATABASE_URL)")
    p.add_argument("--tokens-file", dest="tokens_file", help="bearer tokens file (env BILLING_TOKENS_FILE)")
    p.add_argument("--tls-cert", dest="tls_cert", help="PEM certificate (env BILLING_TLS_CERT)")
    p.add_argument("--tls-key", dest="tls_key", help="PEM private key (env BILLING_TLS_KEY)")
    p.add_argument("--grace-seconds", dest="grace_seconds", help="drain time on shutdown (env BILLING_GRACE_SECONDS)")
    p.add_argument("--sqlite-synchronous", dest="sqlite_synchronous", choices=["NORMAL", "FULL"],
                   help="SQLite durability: NORMAL survives a server crash, FULL also power loss "
                        "(env BILLING_SQLITE_SYNCHRONOUS, default NORMAL)")
    p.add_argument("--metrics-listen", dest="metrics_listen",
                   help="HOST:PORT serving Prometheus /metrics (env BILLING_METRICS_LISTEN, default off)")
    p.add_argument("--console-listen", dest="console_listen",
                   help="HOST:PORT of the admin console, or off (env BILLING_CONSOLE_LISTEN, default 127.0.0.1:8080)")
    p.set_defaults(func=run_serve)


def run_serve(args) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = load_settings(vars(args))
    except ConfigError as e:
        print(f"billing serve: {e}", file=sys.stderr)
        return 2
    from service.server import serve  # heavy imports only when serving
    try:
        return serve(settings)
    except RuntimeError as e:  # e.g. the port is taken
        print(f"billing serve: cannot listen on {settings.listen}: {e}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    from service.cli_commands.common import connection_options
    common = connection_options()
    parser = argparse.ArgumentParser(prog="billing", description="Switchboard Billing", parents=[common],
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_serve(sub)
    for name in COMMAND_GROUPS:
        importlib.import_module(f"service.cli_commands.{name}").register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else 2
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `billing invoices list | head`
        return 0
    except Exception as e:  # noqa: BLE001 - a CLI bug must not end in a traceback for operators
        print(f"error: unexpected {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
