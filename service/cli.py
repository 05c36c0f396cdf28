"""The `billing` command: `billing serve` and the admin commands (over gRPC)."""
import argparse
import logging
import sys

from service.config import ConfigError, load_settings


def add_serve(sub) -> None:
    p = sub.add_parser("serve", help="run the gRPC server")
    p.add_argument("--listen", help="HOST:PORT (env BILLING_LISTEN, default 127.0.0.1:50051)")
    p.add_argument("--database", help="sqlite:///FILE or postgresql://user@host:port/db (env BILLING_DATABASE_URL)")
    p.add_argument("--tokens-file", dest="tokens_file", help="bearer tokens file (env BILLING_TOKENS_FILE)")
    p.add_argument("--tls-cert", dest="tls_cert", help="PEM certificate (env BILLING_TLS_CERT)")
    p.add_argument("--tls-key", dest="tls_key", help="PEM private key (env BILLING_TLS_KEY)")
    p.add_argument("--grace-seconds", dest="grace_seconds", help="drain time on shutdown (env BILLING_GRACE_SECONDS)")
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
    parser = argparse.ArgumentParser(prog="billing", description="Switchboard Billing")
    sub = parser.add_subparsers(dest="command", required=True)
    add_serve(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
