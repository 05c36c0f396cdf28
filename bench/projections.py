"""Read side: SearchInvoices latency at 100k invoices, rebuild speed, catch-up and lag, on SQLite and
PostgreSQL, through the public path (`billing serve` in a subprocess; this process is the gRPC client).

    .venv/bin/python bench/projections.py                      # 100k invoices + 1M calls, both backends
    .venv/bin/python bench/projections.py --invoices 20000 --calls 200000 --backends sqlite
    .venv/bin/python bench/projections.py --store URL          # an existing store (e.g. kept with --keep)

Per backend, on a fresh database:
1. fill: N invoices (3 events each) and M calls written straight through the project's own code
   (bench/readside_store.py says how and why: CreateInvoice for 100k invoices takes many minutes);
2. `billing serve` starts; its projection runner applies the whole log from position 0
   (catch-up: events / seconds until GetProjectionStatus shows no lag);
3. RebuildProjections (the streamed RPC) --rebuilds times: events / seconds of each;
   baseline beside it: reading the same events with the rebuild's own reader and pages, nothing
   else (the floor of the rebuild);
4. SearchInvoices: a warm-up round, then --rounds rounds of the query mix (page size 50 =
   the default), p50/p99 over all and p50 per query; beside it the same searches in-process
   on the read model (the SQL and JSON part, no gRPC);
5. lag: CreateInvoice, then SearchInvoices(query=<its number>, min_position=<its position>)
   until found (one search round trip included).
Goals (issue #11): search p50 <= 20 ms and p99 <= 60 ms at 100k invoices; rebuild >= 20k events/s.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
from common import (billing_argv, busy_note, median, pb_period, percentile,  # noqa: E402
                    print_goal, print_header, print_table, serve, store_description, on_each_store,
                    DEFAULT_POSTGRES)
import readside_store  # noqa: E402

from billing.v1 import (invoice_pb2, invoice_pb2_grpc, projection_pb2, projection_pb2_grpc,  # noqa: E402
                        reseller_pb2, reseller_pb2_grpc)

QUERIES = ["zurich", "100017", "1234.5", "2026-03-1", "telecom 42", "r17", "zz", "sohne 2026", "qqqqq", "/2026",
           "lodz 7"]
PAGE = 50
GOALS = {"search_p50_ms": 20, "search_p99_ms": 60, "rebuild_events_per_s": 20_000}


# ---- measures through the server --------------------------------------------------------
def wait_caught_up(target: str, t0: float, timeout: float = 3600) -> tuple[float, int]:
    """Seconds from `t0` until every projection has lag 0, and the head position."""
    with grpc.insecure_channel(target) as ch:
        stub = projection_pb2_grpc.ProjectionServiceStub(ch)
        while time.perf_counter() - t0 < timeout:
            status = stub.GetProjectionStatus(projection_pb2.GetProjectionStatusRequest())
            if all(p.lag_events == 0 for p in status.projections):
                return time.perf_counter() - t0, max(p.position for p in status.projections)
            time.sleep(0.05)
    raise SystemExit("projections did not catch up")


def rebuild_once(target: str) -> tuple[int, float, float]:
    """(events, seconds to the stream's end, seconds to its last progress message). The last message
    comes right after the swap (the new generation serves); the stream then ends after the server's
    grace for in-flight reads of the old tables (1 s on PostgreSQL, none on SQLite) and their drop."""
    with grpc.insecure_channel(target) as ch:
        stub = projection_pb2_grpc.ProjectionServiceStub(ch)
        t0, last, swapped = time.perf_counter(), None, 0.0
        for last in stub.RebuildProjections(projection_pb2.RebuildProjectionsRequest()):
            swapped = time.perf_counter() - t0
        return last.events_total, time.perf_counter() - t0, swapped


def search_rounds(target: str, rounds: int) -> dict[str, list[float]]:
    per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
    with grpc.insecure_channel(target) as ch:
        stub = invoice_pb2_grpc.InvoiceServiceStub(ch)
        for round_ in range(rounds + 1):  # round 0 warms up
            for q in QUERIES:
                t0 = time.perf_counter()
                stub.SearchInvoices(invoice_pb2.SearchInvoicesRequest(query=q, page_size=PAGE))
                if round_:
                    per_query[q].append((time.perf_counter() - t0) * 1000)
    return per_query


def search_results(target: str) -> dict[str, list[str]]:
    """The first page's invoice numbers per query (printed as counts; compared across backends)."""
    with grpc.insecure_channel(target) as ch:
        stub = invoice_pb2_grpc.InvoiceServiceStub(ch)
        return {q: [i.number for i in stub.SearchInvoices(invoice_pb2.SearchInvoicesRequest(
            query=q, page_size=PAGE)).invoices] for q in QUERIES}


def lag(target: str, samples: int) -> list[float]:
    lags = []
    with grpc.insecure_channel(target) as ch:
        resellers, invoices = reseller_pb2_grpc.ResellerServiceStub(ch), invoice_pb2_grpc.InvoiceServiceStub(ch)
        rid = f"lag-{uuid.uuid4().hex[:8]}"  # a new reseller per run: a kept store is measured again
        resellers.UpsertReseller(reseller_pb2.Reseller(reseller_id=rid, name="Lag Telecom", currency="EUR",
                                                       time_zone="UTC", tax_rate="0.19"))
        for i in range(samples):
            day = date(2001, 1, 1) + timedelta(days=i)
            inv = invoices.CreateInvoice(invoice_pb2.CreateInvoiceRequest(reseller_id=rid, period=pb_period(day, day)))
            t0 = time.perf_counter()
            found = invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(
                query=inv.number, reseller_id=rid, min_position=inv.position, page_size=1))
            lags.append((time.perf_counter() - t0) * 1000)
            assert found.invoices[0].invoice_id == inv.invoice_id
    return lags


# ---- beside them: in-process, no server --------------------------------------------------
def log_read_seconds(url: str) -> tuple[int, float]:
    """Read every event the rebuild reads, with the rebuild's own reader and pages, and nothing else."""
    from projections.rebuild import REBUILD_BATCH, read_log
    from service.config import parse_database_url
    from service.event_store import EventStore
    store = EventStore(parse_database_url(url))
    try:
        head, position, t0 = store.event_log.head(), 0, time.perf_counter()
        while position < head:
            _, position = read_log(store, position + 1, head, REBUILD_BATCH)
        return head, time.perf_counter() - t0
    finally:
        store.close()


def search_in_process(url: str, rounds: int) -> dict[str, list[float]]:
    """The read model's own search (SQL + JSON parsing), as the servicer calls it, without gRPC."""
    from projections import tracking
    from projections.invoice_search import SearchFilter
    from service.config import parse_database_url
    from service.event_store import EventStore
    store = EventStore(parse_database_url(url))
    per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
    try:
        model = tracking.default_models(store.backend.postgres)[1]
        for round_ in range(rounds + 1):
            for q in QUERIES:
                t0 = time.perf_counter()
                with store.backend.transaction(write=False) as sql:
                    model.search(sql, tracking.generation(sql, model.name), SearchFilter(q), 2**62, PAGE + 1)
                if round_:
                    per_query[q].append((time.perf_counter() - t0) * 1000)
    finally:
        store.close()
    return per_query


# ---- one backend ---------------------------------------------------------------------------
def run_backend(url: str, args, workdir: Path, fill: bool) -> dict:
    out: dict = {}
    if fill:
        print(f"  filling {args.invoices:,} invoices + {args.calls:,} calls ...", flush=True)
        stats = readside_store.fill(url, args.invoices, args.calls, say=lambda t: print(t, flush=True))
        out["fill"] = stats
        print(f"  filled: {stats.events:,} events; calls {stats.calls_seconds:.1f} s, invoices "
              f"{stats.invoices_seconds:.1f} s", flush=True)
    t0 = time.perf_counter()
    with serve("billing", lambda port: billing_argv(port, url), workdir / "server.log") as server:
        out["catch_up_s"], out["head"] = wait_caught_up(server.target, t0)
        out["rebuilds"] = [rebuild_once(server.target) for _ in range(args.rebuilds)]
        out["search"] = search_rounds(server.target, args.rounds)
        out["results"] = search_results(server.target)
    out["log_read"] = log_read_seconds(url)
    out["search_sql"] = search_in_process(url, args.rounds)
    if args.lag_samples:
        with serve("billing", lambda port: billing_argv(port, url), workdir / "server-lag.log") as server:
            wait_caught_up(server.target, time.perf_counter())
            out["lag"] = lag(server.target, args.lag_samples)
    return out


def report(backend: str, r: dict, args) -> None:
    print(f"== {backend}")
    if "fill" in r:
        f = r["fill"]
        print(f"  store: {f.invoices:,} invoices, {f.calls:,} calls, {f.resellers} resellers, {f.events:,} events "
              f"(filled in {f.calls_seconds + f.invoices_seconds:.0f} s)")
    head = r["head"]
    print(f"  catch-up at server start (runner from position 0): {head:,} events in {r['catch_up_s']:.1f} s = "
          f"{head / r['catch_up_s']:,.0f} events/s (from the server's start: start-up included)")
    rates = [events / seconds for events, seconds, _ in r["rebuilds"]]
    events, read_s = r["log_read"]
    for (ev, s, swapped), rate in zip(r["rebuilds"], rates):
        print(f"  rebuild (RebuildProjections): {ev:,} events in {s:.2f} s = {rate:,.0f} events/s to the stream's end "
              f"(incl. dropping the old tables, after a 1 s grace on PostgreSQL); {ev / swapped:,.0f} events/s to the swap")
    print(f"  baseline: reading the same events from the log only: {events:,} events in {read_s:.2f} s = "
          f"{events / read_s:,.0f} events/s")
    every = [v for values in r["search"].values() for v in values]
    sql_every = [v for values in r["search_sql"].values() for v in values]
    print(f"  SearchInvoices over gRPC, {args.rounds} rounds x {len(QUERIES)} queries, page {PAGE}: "
          f"p50 {median(every):.2f} ms, p99 {percentile(every, 99):.2f} ms; in-process (no gRPC) "
          f"p50 {median(sql_every):.2f} ms, p99 {percentile(sql_every, 99):.2f} ms")
    rows = [[q, len(r["results"][q]), f"{median(r['search'][q]):.2f}", f"{max(r['search'][q]):.2f}",
             f"{median(r['search_sql'][q]):.2f}"] for q in QUERIES]
    print_table(["query", "hits (page)", "p50 ms", "max ms", "in-process p50 ms"], rows, indent="    ")
    if r.get("lag"):
        print(f"  lag CreateInvoice -> found by SearchInvoices: p50 {median(r['lag']):.2f} ms, "
              f"p99 {percentile(r['lag'], 99):.2f} ms ({len(r['lag'])} samples)")
    full = r.get("fill") is None or r["fill"].invoices >= 100_000
    scope = "" if full else " (smaller than the goal's 100k invoices: n/a)"
    print_goal("search p50" + scope, f"{median(every):.2f} ms", "<= 20 ms", median(every) <= 20 if full else None)
    print_goal("search p99" + scope, f"{percentile(every, 99):.2f} ms", "<= 60 ms",
               percentile(every, 99) <= 60 if full else None)
    print_goal("rebuild", f"{max(rates):,.0f} events/s (best of {len(rates)}, to the stream's end; median "
               f"{sorted(rates)[len(rates) // 2]:,.0f})", ">= 20,000 events/s", max(rates) >= 20_000)
    print(f"  {busy_note()}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    readside_store.add_store_arguments(ap, DEFAULT_POSTGRES)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--rebuilds", type=int, default=3)
    ap.add_argument("--lag-samples", type=int, default=50)
    args = ap.parse_args(argv)
    print_header("Read side: SearchInvoices, rebuild, catch-up and lag (`billing serve` subprocess, gRPC client)",
                 f"{store_description(args)}; {args.rounds} search rounds; {args.rebuilds} rebuilds")
    tmp = Path(tempfile.mkdtemp(prefix="billing-bench-projections-"))
    try:
        results = on_each_store(args, tmp, lambda url: run_backend(url, args, tmp, fill=not args.store),
                                lambda backend, result: report(backend, result, args))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    answers = {backend: result["results"] for backend, result in results.items()}
    if len(answers) == 2:
        same = answers["sqlite"] == answers["postgres"]
        print(f"first pages of every query identical on both backends: {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
