"""Bare baseline servers the benchmarks compare the project with, each in its own process:

    .venv/bin/python bench/baselines.py KIND PORT DATABASE

KIND (DATABASE is a file path for SQLite, a postgresql:// URL for PostgreSQL):
  sqlite-executemany  RecordCalls: each batch in one transaction, one `executemany` of
                      `INSERT OR IGNORE`, journal_mode=WAL, synchronous=NORMAL.
  pg-executemany      RecordCalls: each batch in one transaction, psycopg `executemany` of
                      `INSERT ... ON CONFLICT DO NOTHING` (psycopg 3 pipelines executemany).
  pg-copy             RecordCalls: each batch in one transaction, one `COPY ... FROM STDIN`
                      (psycopg `cursor.copy`). No dedup: an upper bound, not a design.
  es-invoices         CreateInvoice: a generic gRPC handler in front of a plain eventsourcing
                      Application (SQLite, WAL, synchronous=NORMAL, aggregate cache on) that
                      loads the counter and the reseller's book, advances the counter, creates
                      a 50-line invoice and saves the three atomically, retrying on IntegrityError.

Every server also serves grpc.health.v1 and stops on SIGTERM/SIGINT. None of them validates,
rolls up or projects anything: they are what the project would cost with nothing but the
storage call.
"""
from __future__ import annotations

import signal
import sqlite3
import sys
import threading
import time
from concurrent import futures
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from uuid import NAMESPACE_URL, UUID, uuid5

import grpc
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError
from eventsourcing.sqlite import SQLiteConnectionPool, SQLiteFactory
from eventsourcing.utils import get_topic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import GROUPS  # noqa: E402

from billing.v1 import invoice_pb2, reseller_pb2, types_pb2, usage_pb2, usage_pb2_grpc  # noqa: E402

WORKERS = 16  # as `billing serve`

# ---- RecordCalls baselines ---------------------------------------------------------------
CALL_COLUMNS = "reseller_id, call_id, started_ns, billed_seconds, destination, destination_group, amount, currency"
CALLS_DDL = """CREATE TABLE IF NOT EXISTS calls (
    reseller_id TEXT NOT NULL, call_id TEXT NOT NULL, started_ns BIGINT NOT NULL,
    billed_seconds INTEGER NOT NULL, destination TEXT NOT NULL, destination_group TEXT NOT NULL,
    amount TEXT NOT NULL, currency TEXT NOT NULL, PRIMARY KEY (reseller_id, call_id))"""


def call_rows(batch: usage_pb2.CallBatch) -> list[tuple]:
    return [(c.reseller_id, c.call_id, c.started_at.seconds * 1_000_000_000 + c.started_at.nanos,
             c.billed_seconds, c.destination, c.destination_group, c.amount, c.currency)
            for c in batch.calls]


class IngestServicer(usage_pb2_grpc.UsageServiceServicer):
    """RecordCalls that hands each batch's rows to `store` (returns rows inserted)."""

    def __init__(self, store):
        self.store = store

    def RecordCalls(self, request_iterator, context):
        accepted = sum(self.store(call_rows(batch)) for batch in request_iterator)
        return usage_pb2.RecordCallsResponse(accepted=accepted)


def sqlite_executemany(path: str):
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(CALLS_DDL)
    insert = f"INSERT OR IGNORE INTO calls ({CALL_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)"

    def store(rows):
        conn.execute("BEGIN")
        inserted = conn.executemany(insert, rows).rowcount
        conn.execute("COMMIT")
        return inserted
    return store


def postgres_connection(url: str):
    import psycopg
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(CALLS_DDL)
    return conn


def pg_executemany(url: str):
    conn = postgres_connection(url)
    insert = f"INSERT INTO calls ({CALL_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING"

    def store(rows):
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(insert, rows)
            return cur.rowcount
    return store


def pg_copy(url: str):
    conn = postgres_connection(url)

    def store(rows):
        with conn.transaction(), conn.cursor() as cur:
            with cur.copy(f"COPY calls ({CALL_COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return cur.rowcount
    return store


# ---- CreateInvoice baseline: a plain eventsourcing Application ---------------------------
class NormalSyncPool(SQLiteConnectionPool):
    def _create_connection(self):
        conn = super()._create_connection()
        conn._sqlite_conn.execute("PRAGMA synchronous=NORMAL")
        return conn


class NormalSyncSQLiteFactory(SQLiteFactory):
    """The library's SQLite factory (which switches WAL on); eventsourcing 9.5.6 has no setting
    for `synchronous`, so every pooled connection gets synchronous=NORMAL here."""

    def __init__(self, env):
        super().__init__(env)
        self.datastore.pool.__class__ = NormalSyncPool  # before its first connection


class Counter(Aggregate):
    @staticmethod
    def create_id(name: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"counter/{name}")

    @event("Created")
    def __init__(self, name: str):
        self.name, self.last = name, 0

    @event("Advanced")
    def advance(self) -> None:
        self.last += 1


class Book(Aggregate):
    """A reseller's invoiced periods (ISO dates)."""

    @staticmethod
    def create_id(reseller_id: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"book/{reseller_id}")

    @event("Opened")
    def __init__(self, reseller_id: str):
        self.reseller_id, self.periods = reseller_id, []

    def overlaps(self, start: str, end: str) -> bool:
        return any(s <= end and start <= e for s, e, _ in self.periods)

    @event("Invoiced")
    def add(self, start: str, end: str, invoice_id: UUID) -> None:
        self.periods.append((start, end, invoice_id))


class Invoice(Aggregate):
    @event("Issued")
    def __init__(self, number: str, reseller_id: str, start: str, end: str, lines: list,
                 subtotal: str, tax: str, total: str):
        self.number, self.reseller_id, self.start, self.end = number, reseller_id, start, end
        self.lines, self.subtotal, self.tax, self.total = lines, subtotal, tax, total


class InvoiceApp(Application):
    COUNTER = "invoices"

    def __init__(self, path: str):
        super().__init__(env={"PERSISTENCE_MODULE": get_topic(NormalSyncSQLiteFactory), "SQLITE_DBNAME": path,
                              "AGGREGATE_CACHE_MAXSIZE": "10000"})
        try:
            self.repository.get(Counter.create_id(self.COUNTER))
        except AggregateNotFoundError:
            self.save(Counter(self.COUNTER))

    def book(self, reseller_id: str) -> Book:
        try:
            return self.repository.get(Book.create_id(reseller_id))
        except AggregateNotFoundError:
            return Book(reseller_id)  # a racing creator makes save() raise IntegrityError

    def create_invoice(self, request: invoice_pb2.CreateInvoiceRequest, context) -> invoice_pb2.Invoice:
        start, end = iso(request.period.start_date), iso(request.period.end_date)
        counter = self.repository.get(Counter.create_id(self.COUNTER))
        book = self.book(request.reseller_id)
        if book.overlaps(start, end):
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "period overlaps an invoice")
        counter.advance()
        lines = fifty_lines()
        subtotal = sum(Decimal(line["amount"]) for line in lines)
        tax = (subtotal * Decimal("0.19")).quantize(Decimal("0.01"))
        invoice = Invoice(f"{counter.last}/2025", request.reseller_id, start, end, lines,
                          str(subtotal), str(tax), str(subtotal + tax))
        book.add(start, end, invoice.id)
        recordings = self.save(counter, book, invoice)
        return invoice_message(invoice, request, recordings[-1].notification.id)


def iso(d) -> str:
    return date(d.year, d.month, d.day).isoformat()


def fifty_lines() -> list[dict]:
    return [{"destination_group": g, "calls": 1, "billed_seconds": 60, "amount": "0.01"} for g in GROUPS]


def invoice_message(invoice: Invoice, request, position: int) -> invoice_pb2.Invoice:
    msg = invoice_pb2.Invoice(
        invoice_id=str(invoice.id), number=invoice.number, reseller_id=invoice.reseller_id,
        status=invoice_pb2.INVOICE_STATUS_ISSUED, period=types_pb2.Period(
            start_date=request.period.start_date, end_date=request.period.end_date),
        bill_to=reseller_pb2.Reseller(reseller_id=invoice.reseller_id, name=invoice.reseller_id, currency="EUR",
                                      time_zone="Europe/Berlin", tax_rate="0.19"),
        currency="EUR", lines=[invoice_pb2.InvoiceLine(**line) for line in invoice.lines],
        subtotal=invoice.subtotal, tax_rate="0.19", tax=invoice.tax, total=invoice.total, position=position)
    msg.issued_at.FromDatetime(datetime.now(timezone.utc))
    return msg


def es_invoices_handler(path: str) -> grpc.GenericRpcHandler:
    """CreateInvoice only, with the project's request and response messages."""
    app = InvoiceApp(path)

    def create(request, context):
        for attempt in range(200):
            try:
                return app.create_invoice(request, context)
            except IntegrityError:  # a version clash on the counter or book: reload and retry
                time.sleep(0.001 * min(attempt, 20))
        context.abort(grpc.StatusCode.UNAVAILABLE, "contention")

    return grpc.method_handlers_generic_handler("billing.v1.InvoiceService", {
        "CreateInvoice": grpc.unary_unary_rpc_method_handler(
            create, request_deserializer=invoice_pb2.CreateInvoiceRequest.FromString,
            response_serializer=invoice_pb2.Invoice.SerializeToString)})


# ---- the process -------------------------------------------------------------------------
def serve_until_signalled(port: int, add) -> int:
    """A grpc server with health, `add(server)` registering the service; stops on SIGTERM/SIGINT."""
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=WORKERS),
                         options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
    add(server)
    hs = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(hs, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    hs.set("", health_pb2.HealthCheckResponse.SERVING)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    server.stop(5).wait()
    return 0


INGEST_STORES = {"sqlite-executemany": sqlite_executemany, "pg-executemany": pg_executemany, "pg-copy": pg_copy}


def main(argv: list[str]) -> int:
    kind, port, database = argv[0], int(argv[1]), argv[2]
    if kind in INGEST_STORES:
        servicer = IngestServicer(INGEST_STORES[kind](database))
        return serve_until_signalled(port, lambda s: usage_pb2_grpc.add_UsageServiceServicer_to_server(servicer, s))
    if kind == "es-invoices":
        handler = es_invoices_handler(database)
        return serve_until_signalled(port, lambda s: s.add_generic_rpc_handlers((handler,)))
    raise SystemExit(f"unknown baseline {kind!r}; want one of {', '.join([*INGEST_STORES, 'es-invoices'])}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
