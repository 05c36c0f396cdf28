"""Invoices: CalculateInvoice latency vs calls in the month, and CreateInvoice throughput against a
bare eventsourcing baseline in the same run. Real servers in subprocesses; this process is the
gRPC client.

    .venv/bin/python bench/invoices.py            # calc 10k/100k/1M calls; creates after 0/2,000/10,000 invoices
    .venv/bin/python bench/invoices.py --quick    # calc 10k/100k calls; creates after 0/2,000 invoices
    .venv/bin/python bench/invoices.py --calc-only | --create-only

(a) CalculateInvoice (project only, SQLite): one reseller-month per size, calls in 50
    destination groups; 200 calls per size after 20 warm-up, p50/p99. Goals: p50 <= 50 ms at
    the largest size, <= 2x growth from the smallest.
(b) CreateInvoice on SQLite, project vs baseline, each on a fresh database:
    - project: `billing serve`; 100 resellers, each with one call in each of 50 destination
      groups on every day that will be invoiced, so every invoice has 50 lines;
    - baseline: bench/baselines.py es-invoices, a generic gRPC handler (same
      CreateInvoiceRequest/Invoice messages) in front of a plain eventsourcing 9.5.6
      Application (WAL, synchronous=NORMAL, aggregate cache on) that loads the counter and the
      reseller's book, advances, creates a 50-line invoice and saves the three atomically,
      retrying on IntegrityError.
    Both run at the same time and get the same requests: invoice i is reseller i % 100, one
    day, day i // 100 from 2024-01-01, so no two periods overlap. At every point (N invoices
    already stored) it measures sequential creates (one client) on each server in turn, then
    creates from 8 client threads on each in turn (so machine noise hits both alike), then
    preloads both (8 clients, not timed) to the next point. Every response is checked (50
    lines of one call each).
    Goals (issue #11): project sequential >= 0.8 of the baseline; project 8 clients >= 1.3x its
    sequential rate; project sequential rate at the last point within 1.5x of the rate at 0.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (CHANNEL_OPTIONS, GROUPS, baseline_argv, billing_argv, build_batches, busy_note,  # noqa: E402
                    pb_period, percentile, print_goal, print_header, print_table, random_call, reseller_ids,
                    serve, stream_batches, upsert_resellers)

from billing.v1 import invoice_pb2, invoice_pb2_grpc, usage_pb2  # noqa: E402

MONTH = (date(2025, 3, 1), date(2025, 4, 1))  # build_batches spreads calls over March 2025 UTC; +1 local day
CALC_SIZES, CALC_SIZES_QUICK = [10_000, 100_000, 1_000_000], [10_000, 100_000]
CALC_REQUESTS, CALC_WARMUP = 200, 20
PRELOADS, PRELOADS_QUICK = [0, 2_000, 10_000], [0, 2_000]
SEQUENTIAL, SEQUENTIAL_QUICK = 1000, 500
CONCURRENT, CONCURRENT_QUICK = 1600, 800
CLIENTS = 8
RESELLERS = 100
FIRST_DAY = date(2024, 1, 1)
LINES = len(GROUPS)
GOAL_RATIO, GOAL_SCALING, GOAL_FLAT = 0.8, 1.3, 1.5
GOAL_CALC_P50_MS, GOAL_CALC_GROWTH = 50.0, 2.0
PROJECT, BASELINE = "project", "baseline"


# ---- (a) CalculateInvoice ----------------------------------------------------------------
def bench_calculate(server, sizes: list[int]) -> dict[int, tuple[float, float]]:
    """p50/p99 ms of CalculateInvoice for one reseller-month of each size."""
    out = {}
    with grpc.insecure_channel(server.target, options=CHANNEL_OPTIONS) as channel:
        stub = invoice_pb2_grpc.InvoiceServiceStub(channel)
        for size in sizes:
            rid = f"calc-{size}"
            load_month(server, rid, size)
            out[size] = time_calculate(stub, rid, size)
            print(f"  CalculateInvoice {size:>9,} calls: p50 {out[size][0]:.2f} ms  p99 {out[size][1]:.2f} ms",
                  flush=True)
    return out


def load_month(server, rid: str, size: int) -> None:
    upsert_resellers(server.target, [rid])
    seconds, _, resp = stream_batches(server.target, build_batches(size, 1000, [rid]), server.pid)
    if resp.accepted != size:
        raise SystemExit(f"BROKEN RUN: {resp.accepted} of {size} calls accepted for {rid}")
    print(f"  loaded {size:>9,} calls for {rid} in {seconds:.1f} s", flush=True)


def time_calculate(stub, rid: str, size: int) -> tuple[float, float]:
    request = invoice_pb2.CalculateInvoiceRequest(reseller_id=rid, period=pb_period(*MONTH))
    timings = []
    for i in range(CALC_WARMUP + CALC_REQUESTS):
        t = time.perf_counter()
        draft = stub.CalculateInvoice(request)
        if i >= CALC_WARMUP:
            timings.append((time.perf_counter() - t) * 1000)
    if sum(line.calls for line in draft.lines) != size:
        raise SystemExit("BROKEN RUN: the calculation lost calls")
    return statistics.median(timings), percentile(timings, 99)


def report_calc(calc: dict[int, tuple[float, float]]) -> None:
    small, big = min(calc), max(calc)
    print("\n(a) CalculateInvoice, project on SQLite (no baseline: a latency figure)")
    print_table(["calls in the month", "p50 ms", "p99 ms"],
                [[f"{size:,}", f"{p50:.2f}", f"{p99:.2f}"] for size, (p50, p99) in calc.items()])
    print_goal(f"p50 at {big:,} calls", f"{calc[big][0]:.2f} ms", f"<= {GOAL_CALC_P50_MS:.0f} ms",
               calc[big][0] <= GOAL_CALC_P50_MS)
    growth = calc[big][0] / calc[small][0]
    print_goal(f"p50 growth {small:,} -> {big:,}", f"{growth:.2f}x", f"<= {GOAL_CALC_GROWTH:.0f}x",
               growth <= GOAL_CALC_GROWTH)


# ---- (b) CreateInvoice: the requests -----------------------------------------------------
RESELLER_IDS = reseller_ids(RESELLERS, "inv")


def slot(i: int) -> tuple[str, date]:
    """Invoice i: its reseller and its one-day period."""
    return RESELLER_IDS[i % RESELLERS], FIRST_DAY + timedelta(days=i // RESELLERS)


def create_request(i: int) -> invoice_pb2.CreateInvoiceRequest:
    rid, day = slot(i)
    return invoice_pb2.CreateInvoiceRequest(reseller_id=rid, period=pb_period(day, day))


def slot_calls(slots: int, batch: int = 1000) -> list[bytes]:
    """Serialized CallBatches: one call per destination group at ~noon UTC of every slot's day."""
    import random
    rnd, out, msg = random.Random(11), [], usage_pb2.CallBatch()
    for i in range(slots):
        rid, day = slot(i)
        noon = int(datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc).timestamp())
        for k, group in enumerate(GROUPS):
            random_call(msg, rnd, f"inv-{i}-{k}", rid, group, noon + k)
            if len(msg.calls) == batch:
                out.append(msg.SerializeToString())
                msg = usage_pb2.CallBatch()
    return out + ([msg.SerializeToString()] if msg.calls else [])


def prepare_project(server, slots: int) -> None:
    """Resellers and the calls of every day that will be invoiced."""
    upsert_resellers(server.target, RESELLER_IDS)
    batches = slot_calls(slots)
    seconds, _, resp = stream_batches(server.target, batches, server.pid)
    if resp.accepted != slots * LINES:
        raise SystemExit(f"BROKEN RUN: {resp.accepted} of {slots * LINES} calls accepted")
    print(f"  project: {RESELLERS} resellers, {slots * LINES:,} calls for {slots:,} invoices loaded in "
          f"{seconds:.1f} s", flush=True)


# ---- (b) CreateInvoice: timing -----------------------------------------------------------
@dataclass
class Creates:
    """Creates issued against one server: latencies, responses with the wrong line count."""
    stub: object
    wrong: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, i: int) -> float:
        t = time.perf_counter()
        invoice = self.stub.CreateInvoice(create_request(i), timeout=60)
        seconds = time.perf_counter() - t
        if len(invoice.lines) != LINES or sum(line.calls for line in invoice.lines) != LINES:
            with self.lock:
                self.wrong += 1
        return seconds

    def sequential(self, first: int, n: int) -> tuple[float, float]:
        """(invoices/s, p50 ms) of n creates one after the other."""
        t = time.perf_counter()
        latencies = [self.create(i) for i in range(first, first + n)]
        return n / (time.perf_counter() - t), statistics.median(latencies) * 1000

    def concurrent(self, first: int, n: int, clients: int = CLIENTS) -> float:
        """invoices/s of n creates from `clients` threads (thread k takes every k-th invoice)."""
        def client(k: int) -> None:
            for i in range(first + k, first + n, clients):
                self.create(i)
        t = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(client, range(clients)))
        return n / (time.perf_counter() - t)


@dataclass
class Point:
    stored: int
    sequential: float
    sequential_p50_ms: float
    concurrent: float


def measure_creates(servers: dict, preloads: list[int], sequential: int, concurrent: int) -> dict[str, list[Point]]:
    """Both servers side by side, so the noise of a shared machine hits both alike: at every
    preload point each one's sequential run, then each one's 8-client run; then both preload
    (not timed) to the next point."""
    channels = {name: grpc.insecure_channel(srv.target, options=CHANNEL_OPTIONS) for name, srv in servers.items()}
    creates = {name: Creates(invoice_pb2_grpc.InvoiceServiceStub(ch)) for name, ch in channels.items()}
    points: dict[str, list[Point]] = {name: [] for name in servers}
    stored = 0
    try:
        for target in preloads:
            if target > stored:
                preload(creates, stored, target)
                stored = target
            seq = {name: c.sequential(stored, sequential) for name, c in creates.items()}
            conc = {name: c.concurrent(stored + sequential, concurrent) for name, c in creates.items()}
            for name in servers:
                points[name].append(Point(stored, *seq[name], conc[name]))
                print(f"  {name:>8}: {stored:>6,} stored: sequential {seq[name][0]:6.0f}/s (p50 {seq[name][1]:.1f} ms), "
                      f"{CLIENTS} clients {conc[name]:6.0f}/s", flush=True)
            stored += sequential + concurrent
    finally:
        for ch in channels.values():
            ch.close()
    wrong = {name: c.wrong for name, c in creates.items() if c.wrong}
    if wrong:
        raise SystemExit(f"BROKEN RUN: invoices without {LINES} lines of one call each: {wrong}")
    return points


def preload(creates: dict, stored: int, target: int) -> None:
    for name, c in creates.items():
        t = time.perf_counter()
        c.concurrent(stored, target - stored)
        print(f"  {name:>8}: preloaded to {target:,} invoices in {time.perf_counter() - t:.0f} s", flush=True)


def slots_needed(preloads: list[int], sequential: int, concurrent: int) -> int:
    return max(preloads) + len(preloads) * (sequential + concurrent)


def bench_create(tmp: str, preloads: list[int], sequential: int, concurrent: int) -> dict[str, list[Point]]:
    slots = slots_needed(preloads, sequential, concurrent)
    with serve(PROJECT, lambda port: billing_argv(port, f"sqlite:///{tmp}/create.db"), Path(tmp) / "p.log") as project, \
            serve(BASELINE, lambda port: baseline_argv("es-invoices", port, f"{tmp}/baseline.db"),
                  Path(tmp) / "b.log") as baseline:
        prepare_project(project, slots)
        return measure_creates({PROJECT: project, BASELINE: baseline}, preloads, sequential, concurrent)


# ---- (b) the report ----------------------------------------------------------------------
def report_create(points: dict[str, list[Point]]) -> None:
    project, baseline = points[PROJECT], points[BASELINE]
    print(f"\n(b) CreateInvoice on SQLite, {LINES}-line invoices, {RESELLERS} resellers: project vs baseline "
          f"(bare eventsourcing Application)")
    print_table(["invoices stored", "project seq/s", "baseline seq/s", "ratio", "project p50 ms",
                 "baseline p50 ms", f"project {CLIENTS}c/s", f"baseline {CLIENTS}c/s", f"project {CLIENTS}c/seq"],
                [[f"{p.stored:,}", f"{p.sequential:.0f}", f"{b.sequential:.0f}", f"{p.sequential / b.sequential:.2f}",
                  f"{p.sequential_p50_ms:.1f}", f"{b.sequential_p50_ms:.1f}", f"{p.concurrent:.0f}",
                  f"{b.concurrent:.0f}", f"{p.concurrent / p.sequential:.2f}"] for p, b in zip(project, baseline)])
    print(f"  ({busy_note()})")
    ratios = [p.sequential / b.sequential for p, b in zip(project, baseline)]
    print_goal("sequential project/baseline", " / ".join(f"{r:.2f}" for r in ratios), f">= {GOAL_RATIO}",
               min(ratios) >= GOAL_RATIO)
    scaling = [p.concurrent / p.sequential for p in project]
    print_goal(f"{CLIENTS} clients / sequential (project)", " / ".join(f"{s:.2f}x" for s in scaling),
               f">= {GOAL_SCALING}x", min(scaling) >= GOAL_SCALING)
    slowdown = project[0].sequential / project[-1].sequential
    print_goal(f"flat: sequential at 0 / at {project[-1].stored:,} stored (project)", f"{slowdown:.2f}x",
               f"<= {GOAL_FLAT}x", slowdown <= GOAL_FLAT)
    base_slowdown = baseline[0].sequential / baseline[-1].sequential
    print(f"  (baseline: sequential at 0 / at {baseline[-1].stored:,} stored: {base_slowdown:.2f}x)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="calc 10k/100k calls; creates after 0 and 2,000 invoices")
    part = ap.add_mutually_exclusive_group()
    part.add_argument("--calc-only", action="store_true", help="only (a), CalculateInvoice")
    part.add_argument("--create-only", action="store_true", help="only (b), CreateInvoice vs the baseline")
    args = ap.parse_args(argv)
    sizes = CALC_SIZES_QUICK if args.quick else CALC_SIZES
    preloads = PRELOADS_QUICK if args.quick else PRELOADS
    sequential = SEQUENTIAL_QUICK if args.quick else SEQUENTIAL
    concurrent = CONCURRENT_QUICK if args.quick else CONCURRENT
    print_header("Invoices: CalculateInvoice latency; CreateInvoice, project vs bare eventsourcing baseline",
                 f"calc sizes {sizes}; creates: {sequential} sequential + {concurrent} from {CLIENTS} clients "
                 f"at {preloads} invoices stored")
    calc = create = None
    tmp = tempfile.mkdtemp(prefix="billing-bench-invoices-")
    try:
        if not args.create_only:
            print("(a) CalculateInvoice")
            with serve(PROJECT, lambda port: billing_argv(port, f"sqlite:///{tmp}/calc.db"),
                       Path(tmp) / "calc.log") as server:
                calc = bench_calculate(server, sizes)
        if not args.calc_only:
            print("(b) CreateInvoice")
            create = bench_create(tmp, preloads, sequential, concurrent)
    except BaseException:
        print(f"databases and server logs kept in {tmp}")
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    if calc:
        report_calc(calc)
    if create:
        report_create(create)
    return 0


if __name__ == "__main__":
    sys.exit(main())
