"""What every admin command shares: connection options, the gRPC client, error → exit code, output."""
import argparse
import contextlib
import json
import os
import socket
import sys
from datetime import date, timezone
from zoneinfo import ZoneInfo

import grpc
from google.protobuf import json_format
from google.rpc import error_details_pb2
from google.type import date_pb2
from grpc_status import rpc_status

DEFAULT_SERVER = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 30.0

# Exit codes (documented in the README).
OK, SERVER_ERROR, USAGE, REJECTED, NOT_FOUND, CONFLICT, DENIED, UNREACHABLE = range(8)
EXIT_OF = {getattr(grpc.StatusCode, name): code for names, code in (
    ("INVALID_ARGUMENT OUT_OF_RANGE", USAGE), ("NOT_FOUND", NOT_FOUND),
    ("FAILED_PRECONDITION ALREADY_EXISTS ABORTED", CONFLICT), ("UNAUTHENTICATED PERMISSION_DENIED", DENIED))
    for name in names.split()}


class CliError(Exception):
    """A failure the command reports itself: one message line, one exit code."""

    def __init__(self, message: str, code: int = USAGE):
        super().__init__(message)
        self.message, self.code = message, code


def connection_options() -> argparse.ArgumentParser:
    """The options of every admin command, as a parent parser.

    Defaults are SUPPRESSed so that the options may stand before or after the sub-command;
    `Client.from_args` applies environment and defaults.
    """
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("connection and output")
    g.add_argument("--server", default=argparse.SUPPRESS,
                   help=f"HOST:PORT of the billing server (env BILLING_SERVER, default {DEFAULT_SERVER})")
    g.add_argument("--token", default=argparse.SUPPRESS,
                   help="bearer token (env BILLING_TOKEN); sent as 'authorization: Bearer <token>'")
    g.add_argument("--tls-ca", dest="tls_ca", default=argparse.SUPPRESS, metavar="FILE",
                   help="use TLS, trusting the PEM CA or self-signed certificate in FILE (env BILLING_TLS_CA)")
    g.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON for scripts")
    g.add_argument("--timeout", type=positive_float, default=argparse.SUPPRESS,
                   help=f"seconds to wait for the server (default {DEFAULT_TIMEOUT:g})")
    return p


def read_tls_ca(args) -> bytes | None:
    """The PEM bytes of --tls-ca / BILLING_TLS_CA, or None for a plaintext channel."""
    path = getattr(args, "tls_ca", None) or os.environ.get("BILLING_TLS_CA") or None
    if not path:
        return None
    try:
        data = open(path, "rb").read()
    except OSError as e:
        raise CliError(f"--tls-ca / BILLING_TLS_CA: cannot read {path!r}: {e.strerror}") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise CliError(f"--tls-ca / BILLING_TLS_CA: {path!r} holds no PEM certificate")
    return data


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return value


def int_range(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}: {text!r}")
        return value
    return parse


def parse_date(text: str) -> date_pb2.Date:
    """argparse type: YYYY-MM-DD → google.type.Date."""
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"want a date YYYY-MM-DD, got {text!r}") from None
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


def wants_json(args) -> bool:
    return bool(getattr(args, "json", False))


class Client:
    """One channel to the server; every call carries the token and the deadline."""

    def __init__(self, server: str, token: str | None, timeout: float | None, explicit_timeout: bool,
                 tls_ca: bytes | None = None):
        self.server, self.timeout, self.explicit_timeout = server, timeout, explicit_timeout
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.channel = (grpc.secure_channel(server, grpc.ssl_channel_credentials(root_certificates=tls_ca))
                        if tls_ca else grpc.insecure_channel(server))
        self._stubs = {}

    @classmethod
    def from_args(cls, args) -> "Client":
        server = getattr(args, "server", None) or os.environ.get("BILLING_SERVER") or DEFAULT_SERVER
        token = getattr(args, "token", None) or os.environ.get("BILLING_TOKEN") or None
        timeout = getattr(args, "timeout", None)
        return cls(server, token, timeout or DEFAULT_TIMEOUT, timeout is not None, read_tls_ca(args))

    def stub(self, stub_class):
        if stub_class not in self._stubs:
            self._stubs[stub_class] = stub_class(self.channel)
        return self._stubs[stub_class]

    def call(self, method, request, timeout: float | None = ...):
        """Call a unary (or stream-unary, with an iterator) method with metadata and deadline."""
        return method(request, timeout=self.timeout if timeout is ... else timeout, metadata=self.metadata)

    def close(self) -> None:
        self.channel.close()

    def reachable(self) -> bool:
        """Whether a TCP connection to the server opens (asked only after UNAVAILABLE/DEADLINE_EXCEEDED)."""
        target = self.server.removeprefix("dns:///").removeprefix("ipv4:").removeprefix("ipv6:")
        host, sep, port = target.rpartition(":")
        if not sep or not port.isdigit():
            return True  # not HOST:PORT (e.g. unix:): cannot tell, report the status as it is
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=min(self.timeout or 5, 5)):
                return True
        except OSError:
            return False


def exit_for_rpc_error(error: grpc.RpcError, client: Client) -> int:
    """Print `error: <CODE>: <details>` (BadRequest violations one per line) and return the exit code."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = (error.details() if hasattr(error, "details") else "") or ""
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) and not client.reachable():
        err(f"error: cannot reach the billing server at {client.server} ({code.name}: {details})")
        return UNREACHABLE
    violations, preconditions = [], []
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
        try:
            status = rpc_status.from_call(error)
        except (ValueError, AttributeError):
            status = None
        for detail in status.details if status else []:
            bad, failed = error_details_pb2.BadRequest(), error_details_pb2.PreconditionFailure()
            if detail.Unpack(bad):
                violations += [(v.field, v.description) for v in bad.field_violations]
            elif detail.Unpack(failed):
                preconditions += [(v.subject, v.description) for v in failed.violations]
    if violations:
        for field, description in violations:
            err(f"error: {code.name}: {field}: {description}")
    else:
        err(f"error: {code.name}: {details}")
    for subject, description in preconditions:  # e.g. every field an e-invoice still needs, one a line
        err(f"  {subject}: {description}" if description else f"  {subject}")
    return EXIT_OF.get(code, SERVER_ERROR)


def client_command(handler):
    """Wrap `handler(client, args) -> int` into `func(args) -> int` with the error → exit code mapping."""
    def run(args) -> int:
        try:
            client = Client.from_args(args)
        except CliError as e:  # e.g. an unreadable --tls-ca
            err(f"error: {e.message}")
            return e.code
        try:
            return handler(client, args) or OK
        except grpc.RpcError as e:
            return exit_for_rpc_error(e, client)
        except CliError as e:
            err(f"error: {e.message}")
            return e.code
        finally:
            client.close()
    return run


# ---------------------------------------------------------------- output

def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def to_dict(message) -> dict:
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def print_json(value) -> None:
    """Print a protobuf message or plain JSON value, indented, to stdout."""
    if hasattr(value, "DESCRIPTOR"):
        value = to_dict(value)
    print(json.dumps(value, indent=2, ensure_ascii=False))


def console(file=None):
    """A rich Console on stdout: colour only on a terminal; no wrapping of wide tables in pipes."""
    from rich.console import Console
    file = file or sys.stdout
    tty = hasattr(file, "isatty") and file.isatty()
    return Console(file=file, highlight=False, width=None if tty else 400, soft_wrap=not tty)


def print_table(columns: list[str], rows: list[list], title: str | None = None,
                right: tuple[str, ...] = ()) -> None:
    """A table; columns named in `right` are right-aligned (numbers, money)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", show_edge=False, pad_edge=False)
    for c in columns:
        table.add_column(c, justify="right" if c in right else "left", no_wrap=False)
    for row in rows:
        table.add_row(*(Text(str(v)) for v in row))  # Text: no markup interpretation of data
    out = console()
    with out.capture() as captured:
        out.print(table)
    for line in captured.get().splitlines():  # no trailing padding in pipes and files
        print(line.rstrip())


def print_fields(pairs: list[tuple[str, object]]) -> None:
    """`key: value` lines, keys aligned."""
    width = max((len(k) for k, _ in pairs), default=0) + 1
    for k, v in pairs:
        lines = [str(x) for x in v] if isinstance(v, (list, tuple)) else [str(v)]
        print(f"{k + ':':<{width}} {lines[0] if lines else ''}".rstrip())
        for line in lines[1:]:
            print(f"{'':<{width}} {line}")


def fmt_date(d: date_pb2.Date) -> str:
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def fmt_optional_date(message, field: str) -> str:
    """A google.type.Date field as YYYY-MM-DD, or '' when it is unset."""
    return fmt_date(getattr(message, field)) if message.HasField(field) else ""


def money(amount: str, currency: str) -> str:
    """A money string with its currency, e.g. '119.00 EUR' ('' stays '')."""
    return f"{amount} {currency}" if amount else ""


def fmt_period(p) -> str:
    return f"{fmt_date(p.start_date)} .. {fmt_date(p.end_date)}"


def fmt_timestamp(ts, zone: str = "UTC", date_only: bool = False) -> str:
    """A Timestamp in the given IANA zone (UTC if the zone is unknown)."""
    if not ts.seconds and not ts.nanos:
        return ""
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ValueError, KeyError, OSError):
        tz = timezone.utc
    dt = ts.ToDatetime(tzinfo=timezone.utc).astimezone(tz)
    return dt.date().isoformat() if date_only else dt.isoformat(timespec="seconds")


def fetch_pages(client: Client, method, request, field: str, fetch_all: bool):
    """Call a List method once (or until the last page with fetch_all); returns (items, next_page_token)."""
    items = []
    while True:
        response = client.call(method, request)
        items += list(getattr(response, field))
        if not fetch_all or not response.next_page_token:
            return items, response.next_page_token
        request.page_token = response.next_page_token


def add_paging(p: argparse.ArgumentParser) -> None:
    p.add_argument("--page-size", type=int_range(0, 500), default=0, help="items per page (0 = server default 50)")
    p.add_argument("--page-token", default="", help="continue from a previous page")
    p.add_argument("--all", action="store_true", help="fetch every page")


def add_min_position(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min-position", dest="min_position", type=int_range(0, 2**64 - 1), default=0, metavar="N",
                   help="first wait (up to 5 s) until the list has applied event position N, e.g. the "
                        "'position' a write printed: read your own writes (default 0: don't wait)")


RIGHT = ("Total", "Tax rate", "Amount", "Credited", "Paid", "Outstanding", "Next number", "Days overdue")


def print_page(items, token: str, field: str, args, columns, row, right: tuple[str, ...] = RIGHT) -> None:
    """The output of a List command: JSON {field: [...], next_page_token} or a table plus a next-page hint."""
    if wants_json(args):
        print_json({field: [to_dict(i) for i in items], "next_page_token": token})
        return
    noun = field.replace("_", " ")  # credit_notes -> "no credit notes"
    if not items:
        print(f"no {noun}")
    else:
        print_table(columns, [row(i) for i in items], right=right)
    if token:
        err(f"more {noun}: repeat with --page-token {token} (or use --all)")


@contextlib.contextmanager
def progress_bar(description: str):
    """A progress bar on stderr (transient when stderr is not a terminal); yields update(done, total)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    out = Console(file=sys.stderr)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=out, transient=not out.is_terminal) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)
        yield update
