"""A store of N invoices and M calls for the read-side benchmarks (bench/projections.py, bench/verify.py).

The documented shortcut: creating 100,000 invoices through CreateInvoice takes many minutes, so
the data is written straight through the project's own code, with no server running:

- resellers and the numbering pattern through the use cases (`Resellers.upsert`,
  `NumberingAdmin.update`), exactly as UpsertReseller / UpdateNumbering write them;
- the calls through `Ledger.record` (the RecordCalls path after the wire), in batches of 1,000
  in chronological order, so billing_calls, the rollups and each reseller's batch_seq are real;
- the invoices with the aggregates and side writes a CreateInvoice saves (`Invoicing._build`) (Invoice.Issued,
  Numbering.Advanced, InvoiceBook.PeriodClaimed, a billing_documents row), lines and totals from
  the stored calls by `compute_totals`, `covers_through` = the reseller's batch watermark — but
  500 invoices per save (one transaction) instead of one, and without the per-invoice re-read
  of the period's usage (nothing is ingesting meanwhile).

So the store `audit verify`s clean, and the read models a server builds from it are what
CreateInvoice would have produced. Layout: R resellers (default 100) each get N/R invoices of
one-day periods on consecutive days from 2024-01-01; the M calls spread evenly over those
(reseller, day) slots. Numbers `100001/2026`-style (pattern `%num%/%year%`), issued the day
after the period.
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from domain.calls import CallInput
from domain.invoice import Invoice, InvoiceBook, compute_totals, invoice_uuid, UsageRow
from domain.numbering import DocumentKind, INVOICES
from domain.period import Period
from domain.reseller import ResellerTerms
from service.config import parse_database_url
from service.event_store import EventStore
from service.persistence.document_index import DocumentIndex, DocumentIssuedWrite
from service.persistence.ledger import Ledger
from service.persistence.ledger_queries import batch_seqs, rollup_day_sums
from service.persistence.reseller_index import ResellerIndex
from service.render.job import BUILTIN_REVISION
from service.usecases.numbering import NumberingAdmin
from service.usecases.resellers import Resellers

NAMES = ["Zürich Telecom", "Berliner Sprachdienst", "Straße & Söhne", "Łódź Voice", "Москва Связь", "Acme VoIP"]
GROUPS = ["Germany Mobile", "Germany Fixed", "France Mobile", "Poland Fixed", "United States", "Switzerland Mobile"]
FIRST_DAY = date(2024, 1, 1)
TIME_ZONE = "Europe/Berlin"
CALL_BATCH = 1000
SAVE_BATCH = 500  # invoices per save


@dataclass
class FillStats:
    resellers: int
    invoices: int
    calls: int
    events: int
    calls_seconds: float
    invoices_seconds: float


def reseller_id(r: int) -> str:
    return f"r{r}"


def fill(url: str, invoices: int, calls: int, resellers: int = 100, seed: int = 7,
         say=lambda text: None) -> FillStats:
    store = EventStore(parse_database_url(url))
    try:
        return _fill(store, invoices, calls, resellers, random.Random(seed), say)
    finally:
        store.close()


def _fill(store: EventStore, invoices: int, calls: int, resellers: int, rng: random.Random, say) -> FillStats:
    backend = store.backend
    index = DocumentIndex(backend)
    numbering = NumberingAdmin(store, index, threading.Lock())
    admin = Resellers(store, ResellerIndex(backend), numbering)
    numbering.update("%num%/%year%", 100_001)
    terms = {}
    for r in range(resellers):
        t = ResellerTerms.parse(reseller_id=reseller_id(r), name=f"{NAMES[r % len(NAMES)]} {r}", currency="EUR",
                                time_zone=TIME_ZONE, tax_rate="0.19", address_lines=("Bahnhofstrasse 1",),
                                country_code="DE", city="Berlin", postal_code="10115")
        admin.upsert(t)
        terms[t.reseller_id] = t
    days = -(-invoices // resellers)  # invoices per reseller (one-day periods on consecutive days)
    slots = [(reseller_id(i % resellers), i // resellers) for i in range(invoices)]  # issue order

    t0 = time.perf_counter()
    ledger = Ledger(backend)
    batch: list[CallInput] = []
    accepted = 0
    for c in range(calls):
        rid, day = slots[(c * invoices) // calls] if invoices else (reseller_id(c % resellers), c % 365)
        started = int(datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time(),
                                       timezone.utc).timestamp()) + 6 * 3600 + rng.randrange(12 * 3600)
        batch.append(CallInput(f"c{c:09d}", rid, started, rng.randrange(1000) * 1_000_000,
                               rng.randint(1, 3600), f"+49{rng.randint(10**9, 10**10 - 1)}",
                               GROUPS[rng.randrange(len(GROUPS))], f"{rng.randint(0, 2_500_000) / 1e6:.6f}", "EUR"))
        if len(batch) == CALL_BATCH:
            accepted += _record(ledger, batch)
            batch = []
            if c % 100_000 == 99_999:
                say(f"  {c + 1:,} calls stored ({time.perf_counter() - t0:.0f} s)")
    accepted += _record(ledger, batch)
    calls_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    usage, watermark = _usage(backend)
    counter = numbering.counter(INVOICES)
    books: dict[str, InvoiceBook] = {}
    for at in range(0, invoices, SAVE_BATCH):
        made, writes, touched = [], [], {}
        for rid, day in slots[at:at + SAVE_BATCH]:
            t = terms[rid]
            period = Period(FIRST_DAY + timedelta(days=day), FIRST_DAY + timedelta(days=day))
            issue_date = period.end + timedelta(days=1)
            issued_at = datetime.combine(issue_date, datetime.min.time(), timezone.utc) + timedelta(hours=9)
            rows = usage.get((rid, period.start.toordinal()), [])
            totals = compute_totals(rows, t.currency, t.tax_rate)
            key = f"auto:bench-{rid}-{day}"
            invoice_id = invoice_uuid(key)
            sequence, number = counter.take(str(invoice_id), issue_date)
            book = books.get(rid) or store.load_or_none(InvoiceBook.create_id(rid)) or InvoiceBook(rid)
            books[rid] = touched[rid] = book
            book._claim(str(invoice_id), number, period.start.isoformat(), period.end.isoformat())  # no overlap
            made.append(Invoice(invoice_key=key, request_id="", sequence=sequence, number=number, reseller_id=rid,
                                period=period.as_dict(), issued_at=issued_at, issue_date=issue_date.isoformat(),
                                bill_to=t.as_dict(), currency=t.currency, lines=totals.lines,
                                subtotal=totals.subtotal, tax_rate=totals.tax_rate, tax=totals.tax,
                                total=totals.total, template_version=0, covers_through=watermark[rid],
                                series_id=INVOICES,
                                due_date=(issue_date + timedelta(days=t.payment_terms_days)).isoformat(),
                                builtin_revision=BUILTIN_REVISION))
            writes.append(DocumentIssuedWrite(str(invoice_id), DocumentKind.INVOICE, rid, number, INVOICES, sequence,
                                              period.start, period.end))
        store.save_all(*made, counter, *touched.values(), side_writes=tuple(writes))
        if (at + SAVE_BATCH) % 20_000 == 0:
            say(f"  {at + SAVE_BATCH:,} invoices saved ({time.perf_counter() - t0:.0f} s)")
    return FillStats(resellers, invoices, accepted, store.event_log.head(), calls_seconds,
                     time.perf_counter() - t0)


def _record(ledger: Ledger, batch: list[CallInput]) -> int:
    if not batch:
        return 0
    result = ledger.record(batch)
    if result.rejected:
        raise SystemExit(f"calls rejected while filling the store: {result.rejected[:3]}")
    return result.accepted


def _usage(backend) -> tuple[dict[tuple[str, int], list[UsageRow]], dict[str, int]]:
    """Every (reseller, day)'s usage per group from the rollups, and every reseller's batch watermark.
    Both read in one transaction, turned into dicts after it: with 1M calls the Python part takes
    seconds, and PostgreSQL ends a session idle in a transaction after 5 s (the library's default)."""
    with backend.transaction(write=False) as sql:
        sums, seqs = rollup_day_sums(sql), batch_seqs(sql)
    usage: dict[tuple[str, int], list[UsageRow]] = {}
    for rid, day, group, c, s, u, n in sums:
        usage.setdefault((rid, int(day)), []).append(UsageRow(group, int(c), int(s), int(u), int(n)))
    return usage, seqs


def add_store_arguments(ap, default_postgres: str) -> None:
    """The command-line options of the benchmarks that fill (or reuse) a read-side store."""
    ap.add_argument("--invoices", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--postgres", default=default_postgres, help="admin URL: a throw-away database is made beside it")
    ap.add_argument("--store", default="", help="use this filled store (one backend) instead of filling one")
    ap.add_argument("--keep", action="store_true", help="keep the filled stores and print their URLs")
