"""Invoice benchmark (issue 4): CalculateInvoice latency vs calls in the month, CreateInvoice
throughput vs invoices already stored. A real `billing serve` subprocess on SQLite; this
process is the gRPC client.

    .venv/bin/python bench/invoices.py            # full: 10k/100k/1M calls; 0/10k/100k invoices
    .venv/bin/python bench/invoices.py --quick    # 10k/100k calls; 0/2k/10k invoices

(a) one reseller-month per size, calls in 50 destination groups; 200 CalculateInvoice calls
    per size (20 warm-up), p50/p99. Targets: p50 <= 50 ms at 1M, <= 2x growth 10k -> 1M.
(b) sequential CreateInvoice (one client, one-day periods) measured over 500 creates after
    preloading 0, N1, N2 invoices (spread over 1,000 resellers). Targets: >= 300/s, and the
    rate at the largest preload at most 1.5x slower than at 0.
"""
import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import (PYTHON, VENV_BIN, build_batches, free_port, reseller_ids, stop,  # noqa: E402
                    stream, upsert_resellers, wait_serving)

from billing.v1 import invoice_pb2, invoice_pb2_grpc, types_pb2  # noqa: E402
from google.type import date_pb2  # noqa: E402

MONTH = (date(2025, 3, 1), date(2025, 4, 1))  # build_batches spreads calls over March 2025 UTC; +1 local day (Berlin)


def pb_period(start: date, end: date) -> types_pb2.Period:
    d = lambda x: date_pb2.Date(year=x.year, month=x.month, day=x.day)  # noqa: E731
    return types_pb2.Period(start_date=d(start), end_date=d(end))


def start_server(db: str):
    import subprocess
    port = free_port()
    proc = subprocess.Popen([str(VENV_BIN / "billing"), "serve", "--listen", f"127.0.0.1:{port}",
                             "--database", f"sqlite:///{db}"], stderr=subprocess.DEVNULL)
    wait_serving(port, proc)
    return port, proc


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench_calculate(channel, port: int, pid: int, sizes: list[int]) -> dict[int, tuple[float, float]]:
    invoices = invoice_pb2_grpc.InvoiceServiceStub(channel)
    out = {}
    for size in sizes:
        rid = f"calc-{size}"
        upsert_resellers(port, [rid])
        seconds, _, resp = stream(port, build_batches(size, 1000, [rid]), pid)
        assert resp.accepted == size, resp
        print(f"  loaded {size:>9,} calls for {rid} in {seconds:.1f} s", flush=True)
        request = invoice_pb2.CalculateInvoiceRequest(reseller_id=rid, period=pb_period(*MONTH))
        timings = []
        for i in range(220):
            t = time.perf_counter()
            draft = invoices.CalculateInvoice(request)
            if i >= 20:
                timings.append((time.perf_counter() - t) * 1000)
        assert sum(line.calls for line in draft.lines) == size, "calculation lost calls"
        out[size] = (statistics.median(timings), percentile(timings, 99))
        print(f"  CalculateInvoice {size:>9,} calls ({len(draft.lines)} groups): "
              f"p50 {out[size][0]:.2f} ms  p99 {out[size][1]:.2f} ms", flush=True)
    return out


def create_n(invoices, rid_of, n: int, offset: int) -> float:
    t = time.perf_counter()
    for i in range(offset, offset + n):
        rid, day = rid_of(i)
        invoices.CreateInvoice(invoice_pb2.CreateInvoiceRequest(reseller_id=rid, period=pb_period(day, day)))
    return time.perf_counter() - t


def bench_create(channel, port: int, preloads: list[int], measured: int = 500) -> dict[int, float]:
    invoices = invoice_pb2_grpc.InvoiceServiceStub(channel)
    resellers = reseller_ids(1000)
    upsert_resellers(port, resellers)

    def rid_of(i):  # invoice i: reseller i % 1000, its (i // 1000)-th day
        return resellers[i % 1000], date(2000, 1, 1) + timedelta(days=i // 1000)
    out, stored = {}, 0
    for target in preloads:
        if target > stored:
            t = time.perf_counter()
            chunk = (target - stored) // 4
            with ThreadPoolExecutor(4) as pool:  # preload with 4 clients (creates serialise anyway)
                list(pool.map(lambda k: create_n(invoices, rid_of, chunk, stored + k * chunk), range(4)))
            stored += 4 * chunk
            print(f"  preloaded {stored:,} invoices in {time.perf_counter() - t:.0f} s", flush=True)
        seconds = create_n(invoices, rid_of, measured, stored)
        stored += measured
        out[target] = measured / seconds
        print(f"  CreateInvoice sequential with {target:>7,} stored: {out[target]:.0f}/s", flush=True)
    return out


def report_calc(calc: dict, sizes: list[int]) -> int:
    big, small = sizes[-1], sizes[0]
    growth = calc[big][0] / calc[small][0]
    print(f"\nCalculateInvoice p50 at {big:,}: {calc[big][0]:.2f} ms (target <= 50 ms: "
          f"{'MET' if calc[big][0] <= 50 else 'MISSED'}); growth {small:,} -> {big:,}: {growth:.2f}x "
          f"(target <= 2x: {'MET' if growth <= 2 else 'MISSED'})")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--calc-only", action="store_true", help="only part (a), CalculateInvoice")
    args = ap.parse_args(argv)
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    preloads = [0, 2_000, 10_000] if args.quick else [0, 10_000, 100_000]
    print(f"python {PYTHON}; sizes {sizes}; preloads {preloads}")
    with tempfile.TemporaryDirectory() as tmp:
        port, proc = start_server(f"{tmp}/calc.db")
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
                print("(a) CalculateInvoice")
                calc = bench_calculate(ch, port, proc.pid, sizes)
        finally:
            stop(proc)
        if args.calc_only:
            return report_calc(calc, sizes)
        port, proc = start_server(f"{tmp}/create.db")
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
                print("(b) CreateInvoice")
                create = bench_create(ch, port, preloads)
        finally:
            stop(proc)
    report_calc(calc, sizes)
    slow = create[preloads[0]] / create[preloads[-1]]
    print(f"CreateInvoice: {create[preloads[0]]:.0f}/s at 0, {create[preloads[-1]]:.0f}/s at {preloads[-1]:,} "
          f"(target >= 300/s: {'MET' if min(create.values()) >= 300 else 'MISSED'}; slowdown {slow:.2f}x, "
          f"target <= 1.5x: {'MET' if slow <= 1.5 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
