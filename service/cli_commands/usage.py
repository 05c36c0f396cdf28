"""`billing usage import|summary`."""
import csv
import io
import sys
from array import array
from datetime import datetime, timezone
from decimal import Decimal

from billing.v1 import usage_pb2, usage_pb2_grpc
from billing.v1.types_pb2 import Period
from service.cli_commands.common import (OK, REJECTED, CliError, client_command, int_range, parse_date,
                                         print_json, print_table, wants_json)

NAME = "usage"
COLUMNS = ("call_id", "reseller_id", "started_at", "billed_seconds", "destination", "destination_group",
           "amount", "currency")
SHOW_REJECTED = 20


def register(sub, common) -> None:
    group = sub.add_parser(NAME, help="import calls, summarise usage")
    cmds = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = cmds.add_parser("import", parents=[common], help="stream calls from a CSV file to the server",
                        description="CSV with a header row: " + ",".join(COLUMNS) + ". '-' reads stdin. "
                        "No overall deadline unless --timeout is given.")
    p.add_argument("file", metavar="FILE.csv")
    p.add_argument("--batch-size", type=int_range(1, 10_000), default=1000, help="calls per batch (default 1000)")
    p.set_defaults(func=client_command(import_calls))

    p = cmds.add_parser("summary", parents=[common], help="usage of a reseller's period per destination group")
    p.add_argument("reseller_id", metavar="RESELLER")
    p.add_argument("--from", dest="start", type=parse_date, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=parse_date, required=True, metavar="YYYY-MM-DD")
    p.set_defaults(func=client_command(summary))


# ---------------------------------------------------------------- import

class CsvSource:
    """Reads the CSV lazily: `batches()` yields CallBatches; malformed rows are kept aside with line numbers."""

    def __init__(self, stream, batch_size: int, progress=None):
        self.reader = csv.reader(stream)
        self.batch_size, self.progress = batch_size, progress
        self.malformed: list[tuple[int, str, str]] = []  # (line, call_id, reason)
        self.lines = array("Q")  # CSV line of each call sent, by stream index
        self.rows = self._reported = 0
        self.failure: str | None = None
        self.columns = self._header()

    def _header(self) -> dict[str, int]:
        try:
            header = next(self.reader)
        except StopIteration:
            raise CliError("the CSV file is empty; want a header row: " + ",".join(COLUMNS)) from None
        names = [h.strip().lstrip("\ufeff") for h in header]
        unknown = [n for n in names if n not in COLUMNS]
        missing = [c for c in COLUMNS if c not in names]
        doubled = sorted({n for n in names if names.count(n) > 1})
        problems = ([f"unknown column(s): {', '.join(unknown)}"] if unknown else []) + \
                   ([f"missing column(s): {', '.join(missing)}"] if missing else []) + \
                   ([f"repeated column(s): {', '.join(doubled)}"] if doubled else [])
        if problems:
            raise CliError("CSV header line 1: " + "; ".join(problems) + ". Want: " + ",".join(COLUMNS))
        return {n: i for i, n in enumerate(names)}

    def _call(self, row: list[str]) -> usage_pb2.Call:
        """The Call of one row; ValueError names what is malformed."""
        if len(row) != len(self.columns):
            raise ValueError(f"has {len(row)} columns, want {len(self.columns)}")
        v = {name: row[i].strip() for name, i in self.columns.items()}
        call = usage_pb2.Call(call_id=v["call_id"], reseller_id=v["reseller_id"], destination=v["destination"],
                              destination_group=v["destination_group"], amount=v["amount"], currency=v["currency"])
        try:
            started = datetime.fromisoformat(v["started_at"])
        except ValueError:
            raise ValueError(f"started_at is not an ISO-8601 timestamp: {v['started_at']!r}") from None
        if started.tzinfo is None:
            raise ValueError(f"started_at has no UTC offset (add Z or +01:00): {v['started_at']!r}")
        call.started_at.FromDatetime(started.astimezone(timezone.utc))
        seconds = v["billed_seconds"]
        if not seconds.isdigit() or not seconds.isascii() or int(seconds) > 0xFFFFFFFF:
            raise ValueError(f"billed_seconds is not a non-negative integer: {seconds!r}")
        call.billed_seconds = int(seconds)
        return call

    def batches(self):
        batch = []
        try:
            while True:
                start = self.reader.line_num + 1
                try:
                    row = next(self.reader)
                except StopIteration:
                    break
                if not row or row == [""]:
                    continue  # blank line
                self.rows += 1
                try:
                    call = self._call(row)
                except ValueError as e:
                    cid = row[self.columns["call_id"]].strip() if len(row) > self.columns["call_id"] else ""
                    self.malformed.append((start, cid, f"malformed row: {e}"))
                    continue
                self.lines.append(start)
                batch.append(call)
                if len(batch) >= self.batch_size:
                    self._report()
                    yield usage_pb2.CallBatch(calls=batch)
                    batch = []
        except (csv.Error, UnicodeDecodeError) as e:  # stop cleanly: what was sent is reported
            self.failure = f"cannot read the CSV after line {self.reader.line_num}: {e}"
        self._report()
        if batch:
            yield usage_pb2.CallBatch(calls=batch)

    def _report(self) -> None:
        if self.progress and self.rows > self._reported:
            self.progress(self.rows - self._reported)
            self._reported = self.rows


def count_rows(path: str) -> int | None:
    try:
        with open(path, "rb") as f:
            return max(sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) - 1, 0)
    except OSError:
        return None


def open_csv(path: str):
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
    try:
        return open(path, encoding="utf-8-sig", newline="")
    except OSError as e:
        raise CliError(f"cannot open {path}: {e.strerror}") from None


def import_calls(client, args) -> int:
    stream = open_csv(args.file)
    try:
        return _import(client, args, stream)
    finally:
        if args.file != "-":
            stream.close()


def _import(client, args, stream) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from service.cli_commands.common import console
    show_bar = not wants_json(args) and sys.stderr.isatty()
    total = count_rows(args.file) if show_bar and args.file != "-" else None
    progress = Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console(sys.stderr), disable=not show_bar, transient=True)
    with progress:
        task = progress.add_task("import", total=total)
        source = CsvSource(stream, args.batch_size, (lambda n: progress.advance(task, n)) if show_bar else None)
        stub = client.stub(usage_pb2_grpc.UsageServiceStub)
        timeout = client.timeout if client.explicit_timeout else None
        response = client.call(stub.RecordCalls, source.batches(), timeout=timeout)

    rejected = sorted([(line, cid, why, None) for line, cid, why in source.malformed] +
                      [(source.lines[r.index] if r.index < len(source.lines) else 0, r.call_id, r.reason, r.index)
                       for r in response.rejected], key=lambda r: r[0])
    report = {"rows": source.rows, "sent": len(source.lines), "accepted": response.accepted,
              "duplicates": response.duplicates, "late": response.late, "rejected_count": len(rejected),
              "rejected": [{"line": line, "call_id": cid, "reason": why, "index": index}
                           for line, cid, why, index in rejected]}
    if source.failure:
        report["error"] = source.failure
    if wants_json(args):
        print_json(report)
    else:
        print(f"rows read: {source.rows}   sent: {len(source.lines)}   accepted: {response.accepted} "
              f"(late: {response.late})   duplicates: {response.duplicates}   rejected: {len(rejected)}")
        if rejected:
            shown = rejected[:SHOW_REJECTED]
            title = f"rejected calls (first {len(shown)} of {len(rejected)})" if len(rejected) > len(shown) \
                else "rejected calls"
            print_table(["Line", "Call id", "Reason"], [[line, cid, why] for line, cid, why, _ in shown],
                        title=title, right=("Line",))
    if source.failure:
        raise CliError(source.failure + "; the rows before it were sent")
    return REJECTED if rejected else OK


# ---------------------------------------------------------------- summary

STATES = ("billed", "unbilled", "late")


def summary(client, args) -> int:
    stub = client.stub(usage_pb2_grpc.UsageServiceStub)
    s = client.call(stub.GetUsageSummary, usage_pb2.GetUsageSummaryRequest(
        reseller_id=args.reseller_id, period=Period(start_date=args.start, end_date=args.end)))
    if wants_json(args):
        print_json(s)
        return OK
    from service.cli_commands.common import fmt_period
    print(f"usage of {s.reseller_id}, {fmt_period(s.period)} ({s.currency})")
    columns = ["Destination group"] + [f"{st.capitalize()}\n{what}" for st in STATES
                                       for what in ("calls", "seconds", "amount")]
    rows, sums = [], {st: [0, 0, Decimal(0)] for st in STATES}
    for g in s.groups:
        row = [g.destination_group]
        for st in STATES:
            t = getattr(g, st)
            row += [t.calls, t.billed_seconds, t.amount or "0"]
            sums[st][0] += t.calls
            sums[st][1] += t.billed_seconds
            sums[st][2] += Decimal(t.amount or "0")
        rows.append(row)
    if not rows:
        print("no calls in this period")
        return OK
    rows.append(["Total"] + [v for st in STATES for v in sums[st]])
    print_table(columns, rows, right=tuple(columns[1:]))
    return OK
