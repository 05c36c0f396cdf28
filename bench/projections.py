"""Projection benchmark: lag (CreateInvoice return → visible in SearchInvoices), rebuild speed,
and search latency over many invoices, on SQLite and PostgreSQL.

    .venv/bin/python bench/projections.py [--invoices 100000] [--lag-samples 200]
        [--backends sqlite,postgres] [--postgres postgresql://postgres@127.0.0.1:5432/test]

Lag: the server runs in this process; the client creates an invoice, then calls
SearchInvoices(query=<its number>, min_position=<its position>) and stops the clock when
the invoice is returned (so one search round trip is included).
Rebuild: N invoices are written straight into the store as CreateInvoice writes them (3 events
each: Invoice.Issued, Numbering.Advanced, InvoiceBook.PeriodClaimed; 500 invoices per save),
then `rebuild` fills a new generation from all 3N events.
Search: SearchInvoices p50/p99 over those N invoices for a mix of queries, via gRPC.
"""
import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "gen"), str(ROOT / "bench")]

from billing.v1 import invoice_pb2, invoice_pb2_grpc, reseller_pb2, reseller_pb2_grpc, types_pb2  # noqa: E402
from google.type import date_pb2  # noqa: E402

from domain.invoice import Invoice, InvoiceBook  # noqa: E402
from load import create_postgres_database  # noqa: E402
from domain.numbering import Numbering  # noqa: E402
from projections.rebuild import rebuild  # noqa: E402
from service.application import BillingApplication  # noqa: E402
from service.config import Settings, parse_database_url  # noqa: E402
from service.server import create_server  # noqa: E402

TARGETS = {"lag_p99_ms": 100, "rebuild_events_per_s": 20_000, "search_p50_ms": 20}
NAMES = ["Zürich Telecom", "Berliner Sprachdienst", "Straße & Söhne", "Łódź Voice", "Москва Связь", "Acme VoIP"]
QUERIES = ["zurich", "100017", "1234.5", "2026-03-1", "telecom 42", "r17", "zz", "sohne 2026", "qqqqq", "/2026",
           "lodz 7"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def d(day: date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def lag(url: str, samples: int) -> dict:
    running = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(url)))
    running.server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
            resellers, invoices = reseller_pb2_grpc.ResellerServiceStub(ch), invoice_pb2_grpc.InvoiceServiceStub(ch)
            resellers.UpsertReseller(reseller_pb2.Reseller(reseller_id="lag", name="Lag Telecom", currency="EUR",
                                                           time_zone="UTC", tax_rate="0.19"))
            lags, start = [], date(2001, 1, 1)
            for i in range(samples):
                day = start + timedelta(days=i)
                inv = invoices.CreateInvoice(invoice_pb2.CreateInvoiceRequest(
                    reseller_id="lag", period=types_pb2.Period(start_date=d(day), end_date=d(day))))
                t0 = time.perf_counter()
                found = invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(
                    query=inv.number, reseller_id="lag", min_position=inv.position, page_size=1))
                lags.append((time.perf_counter() - t0) * 1000)
                assert found.invoices[0].invoice_id == inv.invoice_id
    finally:
        running.stop(0)
    return {"lag_p50_ms": statistics.median(lags), "lag_p99_ms": pct(lags, 99)}


def fill(url: str, n: int) -> float:
    """Write n issued invoices straight into the store as CreateInvoice does: each save holds the
    Invoice.Issued, Numbering.Advanced and InvoiceBook.PeriodClaimed events (3 events per invoice,
    1 of them one the read models apply). Returns seconds taken."""
    app = BillingApplication(parse_database_url(url))
    rng, t0 = random.Random(7), time.perf_counter()
    issued_at = datetime(2026, 3, 15, 12, tzinfo=timezone.utc)
    numbering = Numbering(next_number=100_001)
    books = {f"r{r}": InvoiceBook(f"r{r}") for r in range(60)}
    try:
        for at in range(0, n, 500):
            batch, touched = [], set()
            for _ in range(at, min(n, at + 500)):
                r = rng.randrange(60)
                name = f"{NAMES[r % len(NAMES)]} {r}"
                amount = f"{rng.randrange(1, 5000)}.{rng.randrange(100):02d}"
                start = date(2026, 1, 1) + timedelta(days=rng.randrange(300))
                key = f"bench:{uuid.uuid4().hex}"
                seq, number = numbering.take(str(uuid.uuid4()), start)
                number = f"{seq}/2026"
                batch.append(Invoice(
                    invoice_key=key, request_id="", sequence=seq, number=number,
                    reseller_id=f"r{r}", period={"start": start.isoformat(), "end": (start + timedelta(27)).isoformat()},
                    issued_at=issued_at, issue_date=(start + timedelta(30)).isoformat(),
                    bill_to={"reseller_id": f"r{r}", "name": name, "currency": "EUR", "time_zone": "UTC",
                             "tax_rate": "0", "address_lines": ["Bahnhofstrasse 1"], "tax_id": "", "email": ""},
                    currency="EUR", lines=[{"destination_group": "Germany Mobile", "calls": 3, "billed_seconds": 180,
                                            "amount": amount}],
                    subtotal=amount, tax_rate="0", tax="0.00", total=amount, template_version=0, covers_through=0))
                books[f"r{r}"]._claim(str(batch[-1].id), number, start.isoformat(), start.isoformat())
                touched.add(f"r{r}")
            app.save(*batch, numbering, *(books[t] for t in sorted(touched)))
    finally:
        app.close()
    return time.perf_counter() - t0


def rebuild_speed(url: str) -> dict:
    app = BillingApplication(parse_database_url(url))
    try:
        result = rebuild(app, grace_seconds=0)
    finally:
        app.close()
    return {"rebuild_events": result.events, "rebuild_seconds": result.seconds,
            "rebuild_events_per_s": result.events / result.seconds,
            "rebuild_invoice_events_per_s": result.invoice_events / result.seconds}


def search_latency(url: str, rounds: int = 20) -> dict:
    running = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(url)))
    running.server.start()
    per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
            invoices = invoice_pb2_grpc.InvoiceServiceStub(ch)
            for _ in range(rounds):
                for q in QUERIES:
                    t0 = time.perf_counter()
                    invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(query=q))
                    per_query[q].append((time.perf_counter() - t0) * 1000)
    finally:
        running.stop(0)
    every = [v for values in per_query.values() for v in values]
    return {"search_p50_ms": statistics.median(every), "search_p99_ms": pct(every, 99),
            "search_by_query_p50_ms": {q: round(statistics.median(v), 2) for q, v in per_query.items()}}


def backend_url(backend: str, postgres: str, workdir: Path) -> tuple[str, callable]:
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:6]}.db"
        return f"sqlite:///{path}", lambda: None
    return create_postgres_database(postgres)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--lag-samples", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            results: dict = {}
            url, drop = backend_url(backend, args.postgres, Path(tmp))
            try:
                results.update(lag(url, args.lag_samples))
            finally:
                drop()
            url, drop = backend_url(backend, args.postgres, Path(tmp))
            try:
                results["fill_seconds"] = fill(url, args.invoices)
                results.update(rebuild_speed(url))
                results.update(search_latency(url))
            finally:
                drop()
            print(f"== {backend} ({args.invoices} invoices = {3 * args.invoices} events, "
                  f"{args.lag_samples} lag samples)")
            for key, value in results.items():
                target = TARGETS.get(key)
                verdict = "" if target is None else (
                    "  OK" if (value >= target if key.endswith("per_s") else value <= target) else "  MISSED")
                shown = f"{value:,.2f}" if isinstance(value, float) else value
                print(f"  {key:24} {shown}{f'  (target {target:,})' if target else ''}{verdict}")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
