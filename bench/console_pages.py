"""Admin console page timings: the reseller Invoices tab with 1,000 invoices (issue #15).

    .venv/bin/python bench/console_pages.py [--invoices 1000] [--requests 50] [--keep]

Starts a real `billing serve` (SQLite in a temporary folder, a tokens file, the console on a free
loopback port via BILLING_CONSOLE_LISTEN), creates one reseller with one call on each of
`--invoices` days and one one-day invoice per day through the gRPC API (CreateInvoice, as an
operator's script would), signs in to the console with the admin token over HTTP, and measures
`--requests` GETs (after 5 warm-up GETs) of:

- the reseller's Invoices tab (the goal: p50 <= 100 ms server time), first page (50 rows, newest
  first, a link to the next page) and the next page (its page token);
- a search on that tab (one number);
- one invoice's page (View Invoice) and the Statement tab (every invoice is open: 1,000 lines).

Server time is the console's own `Server-Timing: app;dur=` header (request in to response out,
gRPC calls and template rendering included); round trip is what this client saw (HTTP on
loopback). Prints p50/p99 of both per page, the date, the core count and the load average.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import grpc
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (BILLING, busy_note, free_port, pb_period, percentile, print_goal, print_header,  # noqa: E402
                    print_table, serve)

from billing.v1 import invoice_pb2, invoice_pb2_grpc, reseller_pb2, reseller_pb2_grpc, usage_pb2  # noqa: E402
from billing.v1 import usage_pb2_grpc  # noqa: E402

TOKEN = "bench-admin-token-0123456789abcdef"
RESELLER = "bench-console"
FIRST_DAY = dt.date(2023, 1, 1)
WARMUP = 5
GOAL_P50_MS = 100.0


def seed(target: str, invoices: int) -> None:
    """One reseller, a call on each day, one invoice per day (CreateInvoice, sequential)."""
    metadata = (("authorization", f"Bearer {TOKEN}"),)
    with grpc.insecure_channel(target) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        reseller_pb2_grpc.ResellerServiceStub(channel).UpsertReseller(reseller_pb2.Reseller(
            reseller_id=RESELLER, name="Bench Console Telecom", currency="EUR", time_zone="Europe/Berlin",
            tax_rate="0.19", address_lines=["Hauptstrasse 1"], postal_code="10115", city="Berlin",
            country_code="DE"), metadata=metadata, timeout=30)
        batch = usage_pb2.CallBatch()
        for i in range(invoices):
            day = FIRST_DAY + dt.timedelta(days=i)
            call = batch.calls.add(call_id=f"call-{i:05d}", reseller_id=RESELLER, billed_seconds=60 + i % 600,
                                   destination="+4915112345678", destination_group=("Germany Mobile", "Germany Fixed",
                                                                                    "France Mobile")[i % 3],
                                   amount=f"{1 + i % 97}.{i % 100:02d}", currency="EUR")
            call.started_at.FromDatetime(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.timezone.utc))
        reply = usage_pb2_grpc.UsageServiceStub(channel).RecordCalls(iter([batch]), metadata=metadata, timeout=120)
        assert reply.accepted == invoices, reply
        stub = invoice_pb2_grpc.InvoiceServiceStub(channel)
        started = time.perf_counter()
        for i in range(invoices):
            day = FIRST_DAY + dt.timedelta(days=i)
            stub.CreateInvoice(invoice_pb2.CreateInvoiceRequest(reseller_id=RESELLER, period=pb_period(day, day),
                                                                request_id=f"bench-{i}"),
                               metadata=metadata, timeout=60)
            if (i + 1) % 250 == 0:
                print(f"  {i + 1} invoices created ({time.perf_counter() - started:.1f} s)", flush=True)


def sign_in(client: httpx.Client) -> None:
    page = client.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    done = client.post("/signin", data={"csrf": csrf, "token": TOKEN, "next": "/resellers"})
    assert done.status_code == 303 and done.headers["location"] == "/resellers", done.text[:500]


def measure(client: httpx.Client, path: str, requests: int, check) -> tuple[list[float], list[float]]:
    """(server ms, round-trip ms) of `requests` GETs after WARMUP; `check(text)` validates each page."""
    server, trip = [], []
    for i in range(WARMUP + requests):
        t0 = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        assert check(response.text), f"{path}: not the expected page"
        if i >= WARMUP:
            server.append(float(response.headers["server-timing"].split("dur=")[1]))
            trip.append(elapsed)
    return server, trip


def rows(text: str) -> int:
    return len(re.findall(r">View Invoice</a>", text))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (store, server log)")
    args = parser.parse_args()
    print_header("Admin console page timings (bench/console_pages.py)",
                 f"{args.invoices} invoices of one reseller (one-day periods, one call each); {args.requests} GETs "
                 f"per page after {WARMUP} warm-up GETs, one signed-in admin session, sequential")
    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    (tmp / "tokens").write_text(f"{TOKEN} admin\n")
    console_port = free_port()
    os.environ["BILLING_CONSOLE_LISTEN"] = f"127.0.0.1:{console_port}"  # the flag --console-listen works too
    argv = lambda port: [BILLING, "serve", "--listen", f"127.0.0.1:{port}", "--database",  # noqa: E731
                         f"sqlite:///{tmp}/console.db", "--tokens-file", str(tmp / "tokens")]
    try:
        with serve("billing serve", argv, tmp / "server.log") as server:
            t0 = time.perf_counter()
            seed(server.target, args.invoices)
            print(f"  seeded {args.invoices} invoices in {time.perf_counter() - t0:.1f} s\n", flush=True)
            base = f"http://127.0.0.1:{console_port}"
            with httpx.Client(base_url=base, timeout=60) as client:
                sign_in(client)
                tab = f"/resellers/{RESELLER}/invoices"
                first = client.get(tab).text
                assert rows(first) == min(50, args.invoices), rows(first)
                next_page = re.search(r'href="(\?[^"]*page=[^"]+)" rel="next"', first)
                invoice_id = re.search(r'href="/invoices/([^"]+)"', first).group(1)
                number = re.search(r'<a href="/invoices/[^"]+">([^<]+)</a>', first).group(1)
                pages = [("Invoices tab (first page)", tab, lambda t: rows(t) == min(50, args.invoices))]
                if next_page:
                    pages.append(("Invoices tab (next page)", tab + next_page.group(1).replace("&amp;", "&"),
                                  lambda t: rows(t) == min(50, args.invoices - 50)))
                pages += [(f"Invoices tab, search {number!r}", f"{tab}?q={number}", lambda t: rows(t) >= 1),
                          ("View Invoice", f"/invoices/{invoice_id}", lambda t: "Download PDF" in t),
                          (f"Statement tab ({args.invoices} open invoices)", f"/resellers/{RESELLER}/statement",
                           lambda t: "Balance" in t)]
                results = []
                for label, path, check in pages:
                    server_ms, trip_ms = measure(client, path, args.requests, check)
                    results.append((label, server_ms, trip_ms))
        print_table(["page", "server p50 ms", "server p99 ms", "round trip p50 ms", "round trip p99 ms"],
                    [[label, f"{percentile(s, 50):.1f}", f"{percentile(s, 99):.1f}", f"{percentile(t, 50):.1f}",
                      f"{percentile(t, 99):.1f}"] for label, s, t in results])
        print()
        p50 = percentile(results[0][1], 50)
        print_goal("Invoices tab p50 server time with 1,000 invoices", f"{p50:.1f} ms", f"<= {GOAL_P50_MS:.0f} ms",
                   p50 <= GOAL_P50_MS if args.invoices >= 1000 else None)
        print(f"  {busy_note()}")
        return 0 if p50 <= GOAL_P50_MS else 1
    finally:
        if args.keep:
            print(f"  kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
