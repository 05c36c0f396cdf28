"""`audit verify` of a store with 100k invoices and 1M calls, on SQLite and PostgreSQL.

    .venv/bin/python bench/verify.py                       # 100k invoices + 1M calls, both backends
    .venv/bin/python bench/verify.py --invoices 20000 --calls 200000 --backends sqlite
    .venv/bin/python bench/verify.py --store URL           # an existing store (e.g. kept with --keep)

Per backend, on a fresh database:
1. fill: N invoices and M calls written straight through the project's own code
   (bench/readside_store.py says how and why);
2. `billing serve` runs until its read models applied the whole log, then stops (so verify
   checks every read model, not "not set up yet");
3. `billing audit verify --database URL` (the CLI, offline, a subprocess) — wall time, and its
   verdict must be "audit clean";
4. VerifyStore over gRPC on a running server (`billing audit verify` without --database);
5. in-process, the same checks one by one with their times (where the time goes), and the
   baseline beside them: reading every event of the log and every call (summed per reseller,
   day, batch and group in SQL), nothing else (the floor of any verify).
Goal (issue #11): audit verify of 100k invoices + 1M calls <= 60 s.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
from common import (BILLING, DEFAULT_POSTGRES, billing_argv, busy_note,  # noqa: E402
                    on_each_store, print_goal, print_header, serve, store_description)
import readside_store  # noqa: E402

from billing.v1 import projection_pb2, projection_pb2_grpc  # noqa: E402


def build_read_models(url: str, log: Path) -> float:
    t0 = time.perf_counter()
    with serve("billing", lambda port: billing_argv(port, url), log) as server:
        with grpc.insecure_channel(server.target) as ch:
            stub = projection_pb2_grpc.ProjectionServiceStub(ch)
            while any(p.lag_events for p in stub.GetProjectionStatus(
                    projection_pb2.GetProjectionStatusRequest()).projections):
                time.sleep(0.1)
    return time.perf_counter() - t0


def cli_offline(url: str) -> tuple[float, int, str]:
    env = {**os.environ, "BILLING_DATABASE_URL": ""}
    t0 = time.perf_counter()
    done = subprocess.run([BILLING, "audit", "verify", "--database", url], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    return time.perf_counter() - t0, done.returncode, done.stdout


def cli_online(url: str, log: Path) -> tuple[float, int, str]:
    with serve("billing", lambda port: billing_argv(port, url), log) as server:
        t0 = time.perf_counter()
        done = subprocess.run([BILLING, "audit", "verify", "--server", server.target, "--timeout", "3600"],
                              cwd=ROOT, capture_output=True, text=True)
        return time.perf_counter() - t0, done.returncode, done.stdout + done.stderr


def stages(url: str) -> list[tuple[str, float]]:
    """verify_steps' checks one by one, timed (the same functions, in the same order)."""
    from service.audit import verify as v
    from service.audit.replay import replay, thaw
    from service.config import parse_database_url
    from service.event_store import EventStore
    from service.persistence.document_index import DocumentIndex
    from service.persistence.ledger import Ledger
    store = EventStore(parse_database_url(url))
    out = []
    try:
        ledger, index = Ledger(store.backend), DocumentIndex(store.backend)
        t = time.perf_counter()
        steps = replay(store)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                r = done.value
                break
        out.append(("replay the log into aggregates (+ log-only rules)", time.perf_counter() - t))
        report = v.Report(events=r.events, invoices=len(r.invoice_ids), resellers=r.resellers(), problems=r.problems)
        invoices = r.invoices()
        t = time.perf_counter()
        for inv in invoices:
            v.check_lines(inv, report)
        out.append(("totals from lines", time.perf_counter() - t))
        t = time.perf_counter()
        v.check_calls(ledger, invoices, report)
        out.append(("lines and totals from the stored calls", time.perf_counter() - t))
        t = time.perf_counter()
        v.check_document_index(index.rows(), invoices, r.credit_notes(), report)
        out.append(("document index", time.perf_counter() - t))
        t = time.perf_counter()
        v.check_projections(store, r, report)
        out.append(("read models", time.perf_counter() - t))
        if report.problems:
            out.append((f"PROBLEMS: {report.problems[:3]}", 0.0))
    finally:
        thaw()
        store.close()
    return out


def floor(url: str) -> list[tuple[str, float]]:
    """Reading every event and every call (summed in SQL), nothing else: what any verify must read."""
    from service.config import parse_database_url
    from service.event_store import EventStore
    store = EventStore(parse_database_url(url))
    try:
        t, position, head = time.perf_counter(), 0, store.event_log.head()
        while position < head:
            page = store.event_log.after(position + 1, 5000)
            if not page:
                break
            position = page[-1].id
        read = time.perf_counter() - t
        t = time.perf_counter()
        with store.backend.transaction(write=False) as sql:
            rows = sql.execute("SELECT reseller_id, local_day, batch_seq, destination_group, COUNT(*), "
                               "SUM(billed_seconds), SUM(amount_units), SUM(amount_nanos) FROM billing_calls "
                               "GROUP BY reseller_id, local_day, batch_seq, destination_group").fetchall()
        return [(f"read all {head:,} events", read),
                (f"read all calls, summed per reseller, day, batch and group ({len(rows):,} sums)",
                 time.perf_counter() - t)]
    finally:
        store.close()


def run_backend(url: str, args, workdir: Path, fill: bool) -> dict:
    out: dict = {}
    if fill:
        print(f"  filling {args.invoices:,} invoices + {args.calls:,} calls ...", flush=True)
        out["fill"] = readside_store.fill(url, args.invoices, args.calls, say=lambda t: print(t, flush=True))
        print(f"  read models: serving until caught up ... ", end="", flush=True)
        print(f"{build_read_models(url, workdir / 'build.log'):.0f} s", flush=True)
    out["offline"] = cli_offline(url)
    print(f"  offline: {out['offline'][0]:.1f} s", flush=True)
    if args.online:
        out["online"] = cli_online(url, workdir / "online.log")
        print(f"  online: {out['online'][0]:.1f} s", flush=True)
    if args.stages:
        out["stages"] = stages(url)
        out["floor"] = floor(url)
    return out


def report(backend: str, r: dict) -> None:
    print(f"== {backend}")
    if "fill" in r:
        f = r["fill"]
        print(f"  store: {f.invoices:,} invoices, {f.calls:,} calls, {f.resellers} resellers, {f.events:,} events "
              f"(filled in {f.calls_seconds + f.invoices_seconds:.0f} s)")
    seconds, code, text = r["offline"]
    print(f"  `billing audit verify --database URL` (offline): {seconds:.1f} s, exit {code}")
    for line in text.strip().splitlines()[-4:]:
        print(f"    | {line}")
    if "online" in r:
        s, c, t = r["online"]
        print(f"  `billing audit verify` over gRPC (VerifyStore, server running): {s:.1f} s, exit {c}")
        for line in t.strip().splitlines()[-2:]:
            print(f"    | {line}")
    if "stages" in r:
        print("  in-process, check by check:")
        for name, s in r["stages"]:
            print(f"    {s:7.2f} s  {name}")
        print(f"    {sum(s for _, s in r['stages']):7.2f} s  total")
        print("  baseline (the floor: reading, nothing checked):")
        for name, s in r["floor"]:
            print(f"    {s:7.2f} s  {name}")
    full = r.get("fill") is None or (r["fill"].invoices >= 100_000 and r["fill"].calls >= 1_000_000)
    print_goal("audit verify offline" + ("" if full else " (smaller than 100k invoices + 1M calls: n/a)"),
               f"{seconds:.1f} s ({'clean' if code == 0 else 'NOT clean'})", "<= 60 s",
               (seconds <= 60 and code == 0) if full else None)
    print(f"  {busy_note()}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    readside_store.add_store_arguments(ap, DEFAULT_POSTGRES)
    ap.add_argument("--no-online", dest="online", action="store_false", help="skip VerifyStore over gRPC")
    ap.add_argument("--no-stages", dest="stages", action="store_false", help="skip the in-process breakdown")
    args = ap.parse_args(argv)
    print_header("audit verify: offline CLI, over gRPC, and check by check in-process", store_description(args))
    tmp = Path(tempfile.mkdtemp(prefix="billing-bench-verify-"))
    try:
        on_each_store(args, tmp, lambda url: run_backend(url, args, tmp, fill=not args.store), report)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
