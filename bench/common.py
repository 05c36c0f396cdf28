"""What the benchmarks share: starting and stopping servers, free ports, throw-away PostgreSQL
databases, the call workload, percentiles and the printed report.

Servers are only ever separate processes: the project through its public CLI
(`billing serve`), the bare baselines through `bench/baselines.py`. The benchmark process is
the gRPC client.
"""
from __future__ import annotations

import datetime as dt
import os
import platform
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import grpc

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path[:0] = [str(ROOT / "gen")]  # the generated stubs, also without an installed package

from billing.v1 import reseller_pb2, reseller_pb2_grpc, types_pb2, usage_pb2  # noqa: E402
from google.type import date_pb2  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
BILLING = str(VENV_BIN / "billing")
# The servers measured here serve no admin console (its default port is one per machine).
os.environ.setdefault("BILLING_CONSOLE_LISTEN", "off")
DEFAULT_POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MAX_MESSAGE = 64 * 1024 * 1024
CHANNEL_OPTIONS = [("grpc.max_send_message_length", MAX_MESSAGE), ("grpc.max_receive_message_length", MAX_MESSAGE)]


# ---- the printed report ------------------------------------------------------------------
def print_header(title: str, *details: str) -> None:
    """Title, date, core count and versions: every figure below belongs to this machine and day."""
    print(title)
    print(f"date {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; machine: {os.cpu_count()} cores "
          f"(os.cpu_count()), load average {load_average():.2f}; Python {platform.python_version()}, "
          f"grpcio {grpc.__version__}, SQLite {sqlite3.sqlite_version}")
    for line in details:
        print(line)
    print(flush=True)


def load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def busy_note() -> str:
    """A warning to print next to wall-clock figures when the machine was busy."""
    load, cores = load_average(), os.cpu_count() or 1
    return f"load average {load:.2f} on {cores} cores" + ("  -- busy machine: wall-clock figures are noisy"
                                                          if load > cores else "")


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def print_goal(what: str, measured: str, goal: str, ok: bool | None) -> None:
    """One line per goal: `ok` None means the goal does not apply to this run."""
    state = "n/a" if ok is None else verdict(ok)
    print(f"  goal {what}: {measured} (goal {goal}) -> {state}")


def print_table(headers: list[str], rows: list[list], indent: str = "  ") -> None:
    """Left-aligned first column, the others right-aligned, widths from the content."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for r in cells:
        print(indent + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of unsorted values; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return percentile(values, 50)


# ---- processes ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    port: int
    log: Path | None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid


def billing_argv(port: int, database: str, sqlite_synchronous: str | None = None) -> list[str]:
    """The project server exactly as an operator starts it."""
    argv = [BILLING, "serve", "--listen", f"127.0.0.1:{port}", "--database", database]
    return argv + (["--sqlite-synchronous", sqlite_synchronous] if sqlite_synchronous else [])


def baseline_argv(kind: str, port: int, database: str) -> list[str]:
    """A bare baseline server of bench/baselines.py."""
    return [PYTHON, str(BENCH / "baselines.py"), kind, str(port), database]


@contextmanager
def serve(name: str, argv_for_port, log: Path | None = None, stop_signal: int = signal.SIGTERM) -> Iterator[Server]:
    """Start `argv_for_port(port)` as a subprocess, wait for health SERVING, stop it on exit.

    Output goes to `log` (a file) or is discarded; the log is named if the server dies."""
    port = free_port()
    out = open(log, "wb") if log else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(argv_for_port(port), cwd=ROOT, stdout=out, stderr=out)
    finally:
        if log:
            out.close()
    server = Server(name, proc, port, log)
    try:
        wait_serving(server)
        yield server
    finally:
        stop(proc, sig=stop_signal)


def wait_serving(server: Server, timeout: float = 60.0) -> None:
    """Poll grpc.health.v1 until SERVING; fail fast if the process exits."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    where = f"; log: {server.log}" if server.log else ""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(server.target) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise SystemExit(f"{server.name} exited early with code {server.proc.returncode}{where}")
            try:
                if stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise SystemExit(f"{server.name} on port {server.port} not SERVING after {timeout:.0f} s{where}")


def stop(proc: subprocess.Popen, timeout: float = 60.0, sig: int = signal.SIGTERM) -> int:
    """Send `sig` (servers drain and exit 0 on SIGTERM/SIGINT), SIGKILL after `timeout`; the exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def cpu_seconds(pid: int) -> float:
    """user + system CPU time of a process so far (Linux /proc), or NaN."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def rss_kb(pid: int) -> int:
    """Resident set size of a process (Linux /proc), 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


# ---- PostgreSQL: a fresh database per run ------------------------------------------------
def postgres_unreachable(admin_url: str) -> str | None:
    """None if the server of `admin_url` answers, else the reason."""
    import psycopg
    try:
        with psycopg.connect(admin_url, connect_timeout=5):
            return None
    except psycopg.Error as e:
        return str(e).strip().splitlines()[0]


def create_postgres_database(admin_url: str) -> tuple[str, callable]:
    """A new empty database on the server of `admin_url`; returns its URL and a drop function."""
    import psycopg
    name = f"billing_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return urlparse(admin_url)._replace(path=f"/{name}").geturl(), drop


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A throw-away database (billing_bench_<random>), dropped on exit."""
    url, drop = create_postgres_database(admin_url)
    try:
        yield url
    finally:
        drop()


# ---- the workload ------------------------------------------------------------------------
CURRENCY = "EUR"
TIME_ZONE = "Europe/Berlin"
MONTH_START = 1740787200  # 2025-03-01T00:00:00Z (includes the Europe/Berlin DST change of 2025-03-30)
MONTH_SECONDS = 31 * 86400
GROUPS = [f"{country} {kind}" for country in (
    "Germany", "France", "Italy", "Spain", "Austria", "Switzerland", "Netherlands", "Belgium", "Poland",
    "United Kingdom", "United States", "Canada", "Turkey", "India", "Brazil", "Mexico", "Japan",
    "Australia", "Sweden", "Norway", "Denmark", "Portugal", "Greece", "Ireland", "Czechia")
    for kind in ("Mobile", "Fixed")][:50]
RECORD_CALLS = "/billing.v1.UsageService/RecordCalls"


def reseller_ids(n: int, prefix: str = "bench-reseller") -> list[str]:
    return [f"{prefix}-{i:04d}" for i in range(n)]


def upsert_resellers(target: str, ids: list[str]) -> None:
    with grpc.insecure_channel(target) as ch:
        stub = reseller_pb2_grpc.ResellerServiceStub(ch)
        for rid in ids:
            stub.UpsertReseller(reseller_pb2.Reseller(reseller_id=rid, name=f"Bench {rid}", currency=CURRENCY,
                                                      time_zone=TIME_ZONE, tax_rate="0.19"), timeout=30)


def random_call(msg: usage_pb2.CallBatch, rnd: random.Random, call_id: str, reseller_id: str, group: str,
                started_s: int) -> None:
    """Append one call with a random duration, number and 4-9 decimal amount."""
    decimals = rnd.randint(4, 9)
    c = msg.calls.add(call_id=call_id, reseller_id=reseller_id, billed_seconds=rnd.randint(1, 3600),
                      destination=f"+49{rnd.randint(10**9, 10**10 - 1)}", destination_group=group,
                      amount=f"{rnd.randint(0, 2_500_000) / 1e6:.{decimals}f}", currency=CURRENCY)
    c.started_at.seconds = started_s
    c.started_at.nanos = rnd.randrange(1000) * 1_000_000


def build_batches(calls: int, batch: int, resellers: list[str], order: str = "chronological",
                  seed: int = 7) -> list[bytes]:
    """Serialized CallBatch messages: unique ids, a month of start times (March 2025), 50 groups.

    order="chronological": start times ascend through the month, as a switch streams its CDRs.
    order="random": every call anywhere in the month (worst case for a per-day rollup)."""
    rnd = random.Random(seed)
    starts = [MONTH_START + rnd.randrange(MONTH_SECONDS) for _ in range(calls)]
    if order == "chronological":
        starts.sort()
    out = []
    for at in range(0, calls, batch):
        msg = usage_pb2.CallBatch()
        for i in range(at, min(at + batch, calls)):
            random_call(msg, rnd, f"c{i:010d}-{rnd.getrandbits(40):010x}", resellers[i % len(resellers)],
                        GROUPS[rnd.randrange(len(GROUPS))], starts[i])
        out.append(msg.SerializeToString())
    return out


def stream_batches(target: str, batches: list[bytes], pid: int) -> tuple[float, float, usage_pb2.RecordCallsResponse]:
    """One RecordCalls stream of pre-serialized batches (identity request serializer, so the client
    only hands bytes to gRPC); returns (wall s, server CPU s, response)."""
    with grpc.insecure_channel(target, options=CHANNEL_OPTIONS) as ch:
        grpc.channel_ready_future(ch).result(timeout=30)
        call = ch.stream_unary(RECORD_CALLS, request_serializer=lambda b: b,
                               response_deserializer=usage_pb2.RecordCallsResponse.FromString)
        c0, t0 = cpu_seconds(pid), time.perf_counter()
        resp = call(iter(batches), timeout=3600)
        return time.perf_counter() - t0, cpu_seconds(pid) - c0, resp


def pb_date(day: dt.date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def pb_period(start: dt.date, end: dt.date) -> types_pb2.Period:
    return types_pb2.Period(start_date=pb_date(start), end_date=pb_date(end))


def store_url(backend: str, existing: str | None, postgres_admin: str, tmp) -> tuple[str, object] | None:
    """(database URL, drop function) for one backend's run: an existing store, a SQLite file in `tmp`,
    or a throw-away PostgreSQL database; None (said on stdout) when PostgreSQL cannot be reached."""
    if existing:
        return existing, (lambda: None)
    if backend == "sqlite":
        return f"sqlite:///{tmp}/store.db", (lambda: None)
    reason = postgres_unreachable(postgres_admin)
    if reason:
        print(f"== postgres skipped: {reason}")
        return None
    return create_postgres_database(postgres_admin)


def store_backends(args) -> list[str]:
    """The backends a read-side benchmark runs on: the one of --store, else --backends."""
    if args.store:
        return ["postgres" if args.store.startswith("postgres") else "sqlite"]
    return args.backends.split(",")


def store_description(args) -> str:
    """The store line of a read-side benchmark's header."""
    what = f"existing store {args.store}" if args.store else f"{args.invoices:,} invoices + {args.calls:,} calls"
    return f"{what}; backends {', '.join(store_backends(args))}"


def on_each_store(args, tmp, run, report) -> dict:
    """`run(url)` on each backend's store (filled or --store), then `report(backend, result)`; a store
    made here is dropped after its run unless --keep. Returns {backend: result}."""
    results = {}
    for backend in store_backends(args):
        where = store_url(backend, args.store, args.postgres, tmp)
        if where is None:
            continue
        url, drop = where
        print(f"== {backend}: {url}", flush=True)
        try:
            results[backend] = run(url)
        finally:
            if args.keep or args.store:
                print(f"  store kept: {url}")
            else:
                drop()
        report(backend, results[backend])
    return results
