"""Call-ingest benchmark: the real `billing serve` against a bare grpcio + SQLite baseline.

    .venv/bin/python bench/ingest.py [--calls N | --quick] [--batch 1000] [--resellers 1]
                                     [--skip-baseline] [--profile py-spy|cprofile] [--profile-out PATH]

Both servers run in their own subprocess; this process is the client. All CallBatch
messages are built AND serialized before the clock starts (the stub's request serializer is
the identity), so neither client-side protobuf construction nor serialization is measured:
the client only hands pre-built bytes to gRPC. Both runs use the same bytes, one
RecordCalls stream each, on fresh databases.

Baseline (docs: notes/eventsourcing.md, "Call ingest baseline"): a bare grpcio servicer
(`--baseline-server PORT DBPATH`, started by this script) that inserts each batch with one
`executemany` of `INSERT OR IGNORE`, journal_mode=WAL, synchronous=NORMAL, one transaction
per batch.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from concurrent import futures
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen")]

from billing.v1 import reseller_pb2, reseller_pb2_grpc, usage_pb2, usage_pb2_grpc  # noqa: E402

TARGET_CALLS_PER_S = 100_000
TARGET_RATIO = 0.60
MONTH_START = 1740787200  # 2025-03-01T00:00:00Z (includes the Europe/Berlin DST change of 2025-03-30)
MONTH_SECONDS = 31 * 86400
TIME_ZONE = "Europe/Berlin"
CURRENCY = "EUR"
GROUPS = [f"{country} {kind}" for country in (
    "Germany", "France", "Italy", "Spain", "Austria", "Switzerland", "Netherlands", "Belgium", "Poland",
    "United Kingdom", "United States", "Canada", "Turkey", "India", "Brazil", "Mexico", "Japan",
    "Australia", "Sweden", "Norway", "Denmark", "Portugal", "Greece", "Ireland", "Czechia")
    for kind in ("Mobile", "Fixed")][:50]
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
RECORD_CALLS = "/billing.v1.UsageService/RecordCalls"


# ---- workload -----------------------------------------------------------------------------
def reseller_ids(n: int) -> list[str]:
    return [f"bench-reseller-{i:03d}" for i in range(n)]


def build_batches(calls: int, batch: int, resellers: list[str], order: str = "chronological",
                  seed: int = 7) -> list[bytes]:
    """Serialized CallBatch messages: unique ids, a month of start times, 50 groups, 4-9 decimals.

    order="chronological": start times ascend through the month, as a switch streams its CDRs
    (a batch spans minutes, so it touches few rollup rows). order="random": every call anywhere
    in the month (worst case for the per-day rollup: ~700 distinct rollup keys per 1,000 calls).
    """
    rnd = random.Random(seed)
    starts = [MONTH_START + rnd.randrange(MONTH_SECONDS) for _ in range(calls)]
    if order == "chronological":
        starts.sort()
    out = []
    for at in range(0, calls, batch):
        msg = usage_pb2.CallBatch()
        for i in range(at, min(at + batch, calls)):
            decimals = rnd.randint(4, 9)
            amount = f"{rnd.randint(0, 2_500_000) / 1e6:.{decimals}f}"  # e.g. 0.0125, 1.234567891
            c = msg.calls.add(call_id=f"c{i:010d}-{rnd.getrandbits(40):010x}", reseller_id=resellers[i % len(resellers)],
                              billed_seconds=rnd.randint(1, 3600), destination=f"+49{rnd.randint(10**9, 10**10 - 1)}",
                              destination_group=GROUPS[rnd.randrange(len(GROUPS))], amount=amount, currency=CURRENCY)
            c.started_at.seconds = starts[i]
            c.started_at.nanos = rnd.randrange(1000) * 1_000_000
        out.append(msg.SerializeToString())
    return out


# ---- processes ----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_serving(port: int, proc: subprocess.Popen, log=None, timeout: float = 60.0) -> None:
    """Wait for health SERVING; `log` (a path) is named in the error if the server dies."""
    where = f"; log: {log}" if log else ""
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"server exited early with code {proc.returncode}{where}")
            try:
                if stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} not SERVING after {timeout:.0f} s{where}")


def stop(proc: subprocess.Popen, timeout: float = 60.0, sig: int = signal.SIGTERM) -> int:
    """`sig` (the server drains and exits 0 on SIGTERM or SIGINT; py-spy writes its profile
    only on SIGINT), SIGKILL after `timeout`; returns the exit code."""
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


def stream(port: int, batches: list[bytes], pid: int) -> tuple[float, float, usage_pb2.RecordCallsResponse]:
    """One RecordCalls stream of pre-serialized batches; returns (wall s, server CPU s, response)."""
    opts = [("grpc.max_send_message_length", 64 * 1024 * 1024), ("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=opts) as ch:
        grpc.channel_ready_future(ch).result(timeout=30)
        call = ch.stream_unary(RECORD_CALLS, request_serializer=lambda b: b,
                               response_deserializer=usage_pb2.RecordCallsResponse.FromString)
        c0, t0 = cpu_seconds(pid), time.perf_counter()
        resp = call(iter(batches), timeout=3600)
        return time.perf_counter() - t0, cpu_seconds(pid) - c0, resp


def upsert_resellers(port: int, ids: list[str]) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = reseller_pb2_grpc.ResellerServiceStub(ch)
        for rid in ids:
            stub.UpsertReseller(reseller_pb2.Reseller(reseller_id=rid, name=f"Bench {rid}", currency=CURRENCY,
                                                      time_zone=TIME_ZONE, tax_rate="0.19"), timeout=30)


def profiler_cmd(kind: str, out: str, server_argv: list[str]) -> list[str]:
    if kind == "py-spy":
        spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
        if not Path(spy).exists():
            raise SystemExit("py-spy not found (pip install py-spy into the venv, or use --profile cprofile)")
        return [spy, "record", "--format", "raw", "--rate", "250", "--nonblocking", "--idle", "-o", out, "--", *server_argv]
    # cProfile: profile the worker threads that run the RPCs (cProfile sees only the thread it runs in).
    wrapper = (
        "import cProfile, sys, threading\n"
        "from service.grpc.servicers import usage\n"
        "prof = cProfile.Profile(); orig = usage.UsageServicer.RecordCalls\n"
        "def profiled(self, it, ctx):\n"
        "    prof.enable()\n"
        "    try: return orig(self, it, ctx)\n"
        "    finally: prof.disable(); prof.dump_stats(%r)\n"
        "usage.UsageServicer.RecordCalls = profiled\n"
        "from service.cli import main\n"
        "sys.argv = ['billing'] + sys.argv[1:]\n"
        "sys.exit(main())\n") % out
    return [PYTHON, "-c", wrapper, *server_argv[1:]]


def run_server(batches: list[bytes], calls: int, resellers: list[str], tmp: str,
               profile: str | None = None, profile_out: str | None = None) -> dict:
    port, db = free_port(), os.path.join(tmp, "bench.db")
    argv = [str(VENV_BIN / "billing"), "serve", "--listen", f"127.0.0.1:{port}", "--database", f"sqlite:///{db}"]
    if profile:
        argv = profiler_cmd(profile, profile_out, argv)
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=None if profile else subprocess.DEVNULL)
    try:
        wait_serving(port, proc)
        upsert_resellers(port, resellers)
        seconds, cpu, resp = stream(port, batches, proc.pid)
    finally:
        stop(proc, sig=signal.SIGINT if profile else signal.SIGTERM)
    return {"seconds": seconds, "cpu": cpu, "resp": resp, "db": db}


def run_baseline(batches: list[bytes], tmp: str) -> dict:
    port, db = free_port(), os.path.join(tmp, "baseline.db")
    proc = subprocess.Popen([PYTHON, __file__, "--baseline-server", str(port), db], cwd=ROOT)
    try:
        wait_serving(port, proc)
        seconds, cpu, resp = stream(port, batches, proc.pid)
    finally:
        stop(proc)
    return {"seconds": seconds, "cpu": cpu, "resp": resp, "db": db}


# ---- the baseline server ------------------------------------------------------------------
BASELINE_DDL = """CREATE TABLE IF NOT EXISTS calls (
    reseller_id TEXT NOT NULL, call_id TEXT NOT NULL, started_ns INTEGER NOT NULL,
    billed_seconds INTEGER NOT NULL, destination TEXT NOT NULL, destination_group TEXT NOT NULL,
    amount TEXT NOT NULL, currency TEXT NOT NULL, PRIMARY KEY (reseller_id, call_id))"""
BASELINE_INSERT = "INSERT OR IGNORE INTO calls VALUES (?,?,?,?,?,?,?,?)"


class BaselineUsage(usage_pb2_grpc.UsageServiceServicer):
    def __init__(self, db: str):
        self.conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute(BASELINE_DDL)

    def RecordCalls(self, request_iterator, context):
        accepted = 0
        conn = self.conn
        for batch in request_iterator:
            rows = [(c.reseller_id, c.call_id, c.started_at.seconds * 1_000_000_000 + c.started_at.nanos,
                     c.billed_seconds, c.destination, c.destination_group, c.amount, c.currency)
                    for c in batch.calls]
            conn.execute("BEGIN")
            cur = conn.executemany(BASELINE_INSERT, rows)
            accepted += cur.rowcount
            conn.execute("COMMIT")
        return usage_pb2.RecordCallsResponse(accepted=accepted)


def baseline_server(port: int, db: str) -> int:
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         options=[("grpc.max_receive_message_length", 8 * 1024 * 1024)])
    usage_pb2_grpc.add_UsageServiceServicer_to_server(BaselineUsage(db), server)
    hs = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(hs, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    hs.set("", health_pb2.HealthCheckResponse.SERVING)
    done = __import__("threading").Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    server.stop(5).wait()
    return 0


# ---- report -------------------------------------------------------------------------------
def sqlite_settings(db: str) -> str:
    """journal_mode is stored in the file; synchronous is per connection, set by the server on
    each of its connections from BILLING_SQLITE_SYNCHRONOUS (service/persistence/sqlite_store.py)."""
    conn = sqlite3.connect(db)
    try:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    sync = os.environ.get("BILLING_SQLITE_SYNCHRONOUS", "NORMAL").upper()
    return f"journal_mode={mode}, synchronous={sync} (BILLING_SQLITE_SYNCHRONOUS, server default NORMAL)"


def check(label: str, resp, calls: int) -> bool:
    ok = resp.accepted == calls and not resp.rejected and resp.duplicates == 0
    state = "OK" if ok else "MISMATCH"
    print(f"  verify {label}: accepted={resp.accepted} duplicates={resp.duplicates} late={resp.late} "
          f"rejected={len(resp.rejected)} expected accepted={calls} -> {state}")
    if resp.rejected:
        print(f"    first rejection: {resp.rejected[0]}")
    return ok


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=1_000_000)
    p.add_argument("--quick", action="store_true", help="100,000 calls")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--resellers", type=int, default=1)
    p.add_argument("--order", choices=["chronological", "random"], default="chronological",
                   help="start times ascending through the month (default, like a switch) or shuffled")
    p.add_argument("--skip-baseline", action="store_true")
    p.add_argument("--profile", choices=["py-spy", "cprofile"], help="run the server under a profiler")
    p.add_argument("--profile-out", default="/tmp/billing-ingest.prof")
    p.add_argument("--keep", action="store_true", help="keep the temporary databases")
    p.add_argument("--baseline-server", nargs=2, metavar=("PORT", "DBPATH"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.baseline_server:
        return baseline_server(int(args.baseline_server[0]), args.baseline_server[1])
    calls = 100_000 if args.quick else args.calls
    resellers = reseller_ids(args.resellers)

    t0 = time.perf_counter()
    batches = build_batches(calls, args.batch, resellers, args.order)
    size = sum(map(len, batches))
    print(f"workload: {calls:,} calls in {len(batches):,} batches of {args.batch} "
          f"({size / 1e6:.1f} MB serialized), {len(resellers)} reseller(s), {args.order} start times, built and serialized before timing "
          f"in the client process in {time.perf_counter() - t0:.1f} s")
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
          f"grpcio {grpc.__version__}")

    tmp = tempfile.mkdtemp(prefix="billing-bench-")
    ok = True
    try:
        srv = run_server(batches, calls, resellers, tmp, args.profile, args.profile_out if args.profile else None)
        rate = calls / srv["seconds"]
        print(f"\nserver  (billing serve, subprocess): {srv['seconds']:7.2f} s  {rate:>10,.0f} calls/s"
              + ("   [under profiler: not a valid figure]" if args.profile else
                 f"   (server CPU {srv['cpu']:.2f} s = {calls / srv['cpu']:,.0f} calls per CPU-second)"))
        ok &= check("server", srv["resp"], calls)
        print(f"  server SQLite settings: {sqlite_settings(srv['db'])}")
        if args.profile:
            print(f"  profile written to {args.profile_out}")
        if not args.skip_baseline:
            base = run_baseline(batches, tmp)
            brate = calls / base["seconds"]
            print(f"baseline (bare grpcio + executemany): {base['seconds']:7.2f} s  {brate:>10,.0f} calls/s"
                  f"   (server CPU {base['cpu']:.2f} s = {calls / base['cpu']:,.0f} calls per CPU-second)")
            ok &= check("baseline", base["resp"], calls)
            print("  baseline SQLite settings: journal_mode=WAL, synchronous=NORMAL")
            ratio = rate / brate
            print(f"\nratio server/baseline: {ratio:.1%} wall-clock"
                  f" ({base['cpu'] / srv['cpu']:.1%} by server CPU time, less sensitive to a busy machine)")
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(f"load average (1 min) at the end: {load:.2f} on {os.cpu_count()} CPUs"
                  + ("  -- machine busy: wall-clock figures are noisy" if load > (os.cpu_count() or 1) else ""))
            print(f"target >= {TARGET_CALLS_PER_S:,} calls/s: {'MET' if rate >= TARGET_CALLS_PER_S else 'MISSED'} "
                  f"({rate / TARGET_CALLS_PER_S:.1%} of target)")
            print(f"target >= {TARGET_RATIO:.0%} of baseline: {'MET' if ratio >= TARGET_RATIO else 'MISSED'} "
                  f"({ratio:.1%}; needs {TARGET_RATIO * brate:,.0f} calls/s)")
    finally:
        if args.keep:
            print(f"databases kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
