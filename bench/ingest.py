"""Call ingest (RecordCalls): the real `billing serve` against bare baselines, in the same run.

    .venv/bin/python bench/ingest.py [--quick] [--backend sqlite|postgresql|both] [--rounds N]
                                     [--postgres ADMIN_URL] [--resellers 1] [--order chronological|random]
                                     [--profile py-spy] [--keep]

SQLite: 300,000 calls (--quick 60,000) in batches of 1,000, vs a bare grpcio servicer doing one
`executemany` of `INSERT OR IGNORE` per batch (WAL, synchronous=NORMAL).
PostgreSQL: 200,000 calls (--quick 40,000), vs a bare psycopg `executemany ... ON CONFLICT DO
NOTHING` server and a bare `COPY` server. Each run gets a throw-away database
(billing_bench_<random>) on ADMIN_URL's server, dropped afterwards.

Every server is its own process (the project via its CLI, the baselines via
bench/baselines.py); this process is the client. All CallBatch messages are built AND
serialized once before any clock starts and every server gets the same bytes through one raw
RecordCalls stream (identity serializer), so client cost is equal. Every server's response
counts are checked (accepted == sent): a broken run cannot look fast, and exits 1.
The servers run --rounds times in turn (default 3) and the medians are compared: one short run
on a shared machine is noise.

Goals (issue #11): project >= 0.60 of the executemany baseline on both backends; on SQLite
also >= 100k calls/s where the baseline reaches >= 167k calls/s.
"""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (DEFAULT_POSTGRES, VENV_BIN, baseline_argv, billing_argv, build_batches, busy_note,  # noqa: E402
                    median, postgres_database, postgres_unreachable, print_goal, print_header, print_table,
                    reseller_ids, serve, stream_batches, upsert_resellers)

BATCH = 1000
SQLITE_CALLS, SQLITE_CALLS_QUICK = 300_000, 60_000
POSTGRES_CALLS, POSTGRES_CALLS_QUICK = 200_000, 40_000
GOAL_RATIO = 0.60
GOAL_SQLITE_RATE, GOAL_SQLITE_RATE_IF_BASELINE = 100_000, 167_000
PROJECT = "project (billing serve)"
SQLITE_BASELINE = "bare sqlite3 executemany"
PG_BASELINE = "bare psycopg executemany"
PG_COPY = "bare psycopg COPY"


@dataclass
class Run:
    label: str
    calls: int
    seconds: float
    cpu: float
    response: object

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    @property
    def counts_ok(self) -> bool:
        r = self.response
        return r.accepted == self.calls and r.duplicates == 0 and not r.rejected


# ---- one server, one stream --------------------------------------------------------------
def run_project(batches: list[bytes], calls: int, resellers: list[str], database: str, log: Path,
                profile: str | None) -> Run:
    argv = lambda port: with_profiler(profile, billing_argv(port, database))  # noqa: E731
    with serve(PROJECT, argv, log, stop_signal=signal.SIGINT if profile else signal.SIGTERM) as server:
        upsert_resellers(server.target, resellers)
        seconds, cpu, resp = stream_batches(server.target, batches, server.pid)
    return Run(PROJECT, calls, seconds, cpu, resp)


def run_baseline(label: str, kind: str, batches: list[bytes], calls: int, database: str, log: Path) -> Run:
    with serve(label, lambda port: baseline_argv(kind, port, database), log) as server:
        seconds, cpu, resp = stream_batches(server.target, batches, server.pid)
    return Run(label, calls, seconds, cpu, resp)


def with_profiler(profile: str | None, argv: list[str]) -> list[str]:
    """py-spy around the server (raw stacks to /tmp/billing-ingest.pyspy; figures then invalid)."""
    if not profile:
        return argv
    spy = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("py-spy not found (pip install py-spy into the venv)")
    return [spy, "record", "--format", "raw", "--rate", "250", "--nonblocking", "--idle",
            "-o", "/tmp/billing-ingest.pyspy", "--", *argv]


def print_run(run: Run) -> None:
    r = run.response
    state = "counts OK" if run.counts_ok else "COUNTS WRONG"
    print(f"  {run.label:<26} {run.seconds:6.2f} s {run.rate:>10,.0f} calls/s  server CPU {run.cpu:5.2f} s  "
          f"accepted {r.accepted:,}/{run.calls:,} dup {r.duplicates} rejected {len(r.rejected)} -> {state}",
          flush=True)
    if r.rejected:
        print(f"    first rejection: {r.rejected[0]}")


# ---- one round per backend ---------------------------------------------------------------
def sqlite_round(batches: list[bytes], resellers: list[str], tmp: Path, n: int, profile: str | None) -> list[Run]:
    calls = len(batches) * BATCH
    return [run_project(batches, calls, resellers, f"sqlite:///{tmp}/project-{n}.db", tmp / f"project-{n}.log",
                        profile),
            run_baseline(SQLITE_BASELINE, "sqlite-executemany", batches, calls, str(tmp / f"baseline-{n}.db"),
                         tmp / f"baseline-{n}.log")]


def postgres_round(batches: list[bytes], resellers: list[str], tmp: Path, n: int, admin_url: str,
                   profile: str | None) -> list[Run]:
    calls, runs = len(batches) * BATCH, []
    with postgres_database(admin_url) as url:
        runs.append(run_project(batches, calls, resellers, url, tmp / f"pg-project-{n}.log", profile))
    for label, kind in ((PG_BASELINE, "pg-executemany"), (PG_COPY, "pg-copy")):
        with postgres_database(admin_url) as url:
            runs.append(run_baseline(label, kind, batches, calls, url, tmp / f"{kind}-{n}.log"))
    return runs


def run_rounds(rounds: int, one_round) -> dict[str, list[Run]]:
    """Call `one_round(n)` `rounds` times; the runs by label, each printed as it finishes."""
    by_label: dict[str, list[Run]] = {}
    for n in range(rounds):
        if rounds > 1:
            print(f" round {n + 1}/{rounds}")
        for run in one_round(n):
            print_run(run)
            by_label.setdefault(run.label, []).append(run)
    return by_label


# ---- the report --------------------------------------------------------------------------
def summary_rows(by_label: dict[str, list[Run]], baseline: str) -> list[list]:
    base_rate = median([r.rate for r in by_label[baseline]])
    base_cpu = median([r.cpu for r in by_label[baseline]])
    rows = []
    for label, runs in by_label.items():
        rate, cpu = median([r.rate for r in runs]), median([r.cpu for r in runs])
        rows.append([label, f"{rate:,.0f}", f"{rate / base_rate:.2f}", f"{cpu:.2f}", f"{base_cpu / cpu:.2f}"])
    return rows


def report(title: str, by_label: dict[str, list[Run]], baseline: str) -> float:
    """Print the medians side by side; returns project/baseline (wall clock)."""
    print(f"\n{title}")
    print_table(["server", "calls/s", f"ratio to {baseline}", "server CPU s", "ratio by CPU time"],
                summary_rows(by_label, baseline))
    print(f"  ({busy_note()}; the CPU-time ratio is less sensitive to a busy machine)")
    return median([r.rate for r in by_label[PROJECT]]) / median([r.rate for r in by_label[baseline]])


def sqlite_goals(by_label: dict[str, list[Run]], ratio: float) -> None:
    rate, base = (median([r.rate for r in by_label[k]]) for k in (PROJECT, SQLITE_BASELINE))
    print_goal("project/baseline", f"{ratio:.2f}", f">= {GOAL_RATIO:.2f}", ratio >= GOAL_RATIO)
    applies = base >= GOAL_SQLITE_RATE_IF_BASELINE
    print_goal("project calls/s", f"{rate:,.0f}/s" + ("" if applies else f" (baseline {base:,.0f}/s < "
                                                                            f"{GOAL_SQLITE_RATE_IF_BASELINE:,}/s)"),
               f">= {GOAL_SQLITE_RATE:,}/s where the baseline >= {GOAL_SQLITE_RATE_IF_BASELINE:,}/s",
               rate >= GOAL_SQLITE_RATE if applies else None)


def postgres_goals(by_label: dict[str, list[Run]], ratio: float) -> None:
    rate, copy = (median([r.rate for r in by_label[k]]) for k in (PROJECT, PG_COPY))
    print_goal("project/executemany baseline", f"{ratio:.2f}", f">= {GOAL_RATIO:.2f}", ratio >= GOAL_RATIO)
    print(f"  project/COPY baseline: {rate / copy:.2f} (reported, no goal)")


def counts_ok(by_label: dict[str, list[Run]]) -> bool:
    return all(run.counts_ok for runs in by_label.values() for run in runs)


# ---- main --------------------------------------------------------------------------------
def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="60k calls on SQLite, 40k on PostgreSQL")
    p.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--rounds", type=int, default=3, help="run every server N times in turn (default 3); "
                   "compare the medians")
    p.add_argument("--postgres", default=DEFAULT_POSTGRES, metavar="ADMIN_URL",
                   help=f"PostgreSQL server for the throw-away databases (default {DEFAULT_POSTGRES})")
    p.add_argument("--resellers", type=int, default=1)
    p.add_argument("--order", choices=["chronological", "random"], default="chronological",
                   help="start times ascending through the month (default, like a switch) or shuffled")
    p.add_argument("--profile", choices=["py-spy"], help="run the project server under py-spy (figures invalid)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (SQLite files, logs)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    sqlite_calls = SQLITE_CALLS_QUICK if args.quick else SQLITE_CALLS
    pg_calls = POSTGRES_CALLS_QUICK if args.quick else POSTGRES_CALLS
    resellers = reseller_ids(args.resellers)
    t0 = time.perf_counter()
    batches = build_batches(max(sqlite_calls, pg_calls), BATCH, resellers, args.order)
    print_header("RecordCalls: project vs bare baselines, same serialized batches, same run",
                 f"workload: batches of {BATCH:,}, {len(resellers)} reseller(s), {args.order} start times in "
                 f"March 2025, 50 destination groups; built and serialized once in {time.perf_counter() - t0:.1f} s "
                 f"({sum(map(len, batches)) / len(batches) / 1e3:.0f} kB per batch)")
    tmp = Path(tempfile.mkdtemp(prefix="billing-bench-ingest-"))
    ok = True
    try:
        if args.backend in ("sqlite", "both"):
            sqlite_batches = batches[:sqlite_calls // BATCH]
            print(f"SQLite, {sqlite_calls:,} calls")
            runs = run_rounds(args.rounds, lambda n: sqlite_round(sqlite_batches, resellers, tmp, n, args.profile))
            sqlite_goals(runs, report(f"SQLite, {sqlite_calls:,} calls (median of {args.rounds})", runs,
                                      SQLITE_BASELINE))
            ok &= counts_ok(runs)
        if args.backend in ("postgresql", "both"):
            print(f"\nPostgreSQL, {pg_calls:,} calls")
            reason = postgres_unreachable(args.postgres)
            if reason:
                print(f"  skipped: cannot connect to {args.postgres}: {reason}")
                ok = False
            else:
                pg_batches = batches[:pg_calls // BATCH]
                runs = run_rounds(args.rounds, lambda n: postgres_round(pg_batches, resellers, tmp, n,
                                                                        args.postgres, args.profile))
                postgres_goals(runs, report(f"PostgreSQL, {pg_calls:,} calls (median of {args.rounds})", runs,
                                            PG_BASELINE))
                ok &= counts_ok(runs)
        if args.profile:
            print("\nprofile (py-spy raw stacks): /tmp/billing-ingest.pyspy -- figures above are NOT valid")
    finally:
        if args.keep or not ok:
            print(f"\ntemporary files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("\nall response counts checked: OK" if ok else "\nBROKEN RUN: a response count was wrong or a backend "
                                                         "was skipped (exit 1)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
