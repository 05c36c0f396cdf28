"""The eventsourcing Application: load aggregates, act, save atomically (with ledger side writes)."""
import logging
import threading
from datetime import datetime, timezone
from typing import Any, Callable, TypeVar
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, OperationalError

from domain.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from domain.invoice import Invoice, InvoiceBook, Totals, compute_totals, invoice_uuid
from domain.numbering import Numbering
from domain.period import Period
from domain.reseller import Reseller, ResellerTerms, reseller_uuid
from domain.text import check_text
from service.config import Database
from service.persistence.backend import Backend, schema_lock
from service.persistence.ledger import Ledger
from service.persistence.side_writes import InvoiceIssuedWrite, InvoiceVoidedWrite, ResellerTermsWrite

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_ATTEMPTS = 200
MAX_REQUEST_ID = 255
MAX_REASON = 1000


# The library's aggregate cache, so an aggregate is not replayed from its last snapshot on
# every load (the counter is loaded for every invoice), with fast-forward: one indexed query
# for newer events per load. Fast-forward stays on for SQLite too: without it, two racing
# saves of one aggregate may put the older state into the cache last (stale reads), and the
# library's LRUCache.clear() does not empty the cache, so such an entry could not be dropped.
CACHE_ENV = {"AGGREGATE_CACHE_MAXSIZE": "2000", "AGGREGATE_CACHE_FASTFORWARD": "y",
             "DEEPCOPY_FROM_AGGREGATE_CACHE": "y"}


def persistence_env(db: Database) -> dict[str, str]:
    return {**CACHE_ENV, **_backend_env(db)}


def _backend_env(db: Database) -> dict[str, str]:
    if db.kind == "sqlite":
        return {"PERSISTENCE_MODULE": "service.persistence.sqlite_store:TunedSQLiteFactory",
                "SQLITE_DBNAME": db.path, "SQLITE_LOCK_TIMEOUT": "30", "SQLITE_SYNCHRONOUS": db.synchronous,
                "APPLICATION_RECORDER_TOPIC": "service.persistence.recorders:SQLiteBillingRecorder"}
    return {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": db.dbname,
            "POSTGRES_HOST": db.host, "POSTGRES_PORT": str(db.port), "POSTGRES_USER": db.user,
            "POSTGRES_PASSWORD": db.password, "POSTGRES_POOL_SIZE": "10", "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_LOCK_TIMEOUT": "30", "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            "APPLICATION_RECORDER_TOPIC": "service.persistence.recorders:PostgresBillingRecorder"}


class BillingApplication(Application):
    name = "Billing"
    snapshotting_intervals = {Numbering: 50, InvoiceBook: 50}

    def __init__(self, database: Database):
        dsn = None if database.kind == "sqlite" else {
            "host": database.host, "port": database.port, "user": database.user,
            "password": database.password or None, "dbname": database.dbname}
        with schema_lock(dsn):
            super().__init__(env=persistence_env(database))
        self.backend = Backend(self.recorder.datastore, postgres=database.kind == "postgres")
        self.ledger = Ledger(self.backend)
        self._invoice_lock = threading.Lock()  # in-process creates share one counter: queue, don't collide
        self.on_saved: list[Callable[[int], None]] = []
        self.templates: Any = None  # service.templates.TemplateBook; wired by the composition root (server.py)
        self.projections: Any = None  # projections.runner.ProjectionRunner; wired by server.py, woken by on_saved

    # ---- plumbing ----------------------------------------------------------------------
    def save_all(self, *aggregates: Any, side_writes: tuple = ()) -> int:
        """Save atomically with the side writes; returns the position of the last event."""
        recordings = self.save(*aggregates, side_writes=side_writes)
        position = recordings[-1].notification.id if recordings else self.position_of(aggregates[0].id)
        for listener in self.on_saved:
            listener(position)
        return position

    def retrying(self, action: Callable[[], T]) -> T:
        """Run load-act-save again when a concurrent writer won (optimistic concurrency)."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                return action()
            except (IntegrityError, OperationalError, Conflict) as e:
                log.debug("retrying after concurrent write (attempt %d): %s", attempt + 1, e)
        raise Conflict("too much contention; try again")

    def load(self, aggregate_id: UUID, what: str, version: int | None = None) -> Any:
        try:
            return self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise NotFound(f"{what} not found") from None

    def load_or_none(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def position_of(self, aggregate_id: UUID) -> int:
        table = self.recorder.events_table_name
        with self.backend.transaction(write=False) as sql:
            if self.backend.postgres:
                sql.execute(f"SELECT MAX(notification_id) FROM {table} WHERE originator_id = ?", (aggregate_id,))
            else:
                sql.execute(f"SELECT MAX(rowid) FROM {table} WHERE originator_id = ?", (aggregate_id.hex,))
            return int(sql.fetchall()[0][0] or 0)

    # ---- resellers ---------------------------------------------------------------------
    def upsert_reseller(self, terms: ResellerTerms) -> tuple[Reseller, int]:
        def attempt():
            reseller = self.load_or_none(reseller_uuid(terms.reseller_id))
            if reseller is None:
                reseller, changed = Reseller(terms.reseller_id, terms.as_dict()), False
            elif reseller.terms == terms:
                return reseller, self.position_of(reseller.id)  # nothing changed: no event
            else:
                changed = reseller.billing_terms_differ(terms)
                reseller.change(terms.as_dict())
            write = ResellerTermsWrite(terms.reseller_id, terms.currency, terms.time_zone, changed)
            return reseller, self.save_all(reseller, side_writes=(write,))
        return self.retrying(attempt)

    def get_reseller(self, reseller_id: str) -> Reseller:
        return self.load(reseller_uuid(reseller_id), f"reseller {reseller_id[:128]!r}")

    def list_reseller_ids(self, after: str, limit: int) -> list[str]:
        with self.backend.transaction(write=False) as sql:
            sql.execute("SELECT reseller_id FROM billing_resellers WHERE reseller_id > ? "
                        "ORDER BY reseller_id LIMIT ?", (after, limit))
            return [r[0] for r in sql.fetchall()]

    def usage_summary(self, reseller_id: str, period: Period) -> list[tuple]:
        """(state, group, calls, seconds, units, nanos) rows; state is billed, unbilled or late."""
        with self.backend.transaction(write=False) as sql:
            rows = self.ledger.usage_by_state(sql, reseller_id, period.start, period.end)
            active = self.ledger.active_periods(sql, [reseller_id]).get(reseller_id, [])
        out = []
        for day, group, late_for, *sums in rows:
            cover = next((inv for lo, hi, inv in active if lo <= day <= hi), None)
            state = "unbilled" if cover is None else ("late" if late_for == cover else "billed")
            out.append((state, group, *sums))
        return out

    # ---- invoices ----------------------------------------------------------------------
    def calculate(self, reseller_id: str, period: Period) -> tuple[Reseller, Totals]:
        reseller = self.get_reseller(reseller_id)
        with self.backend.transaction(write=False) as sql:
            usage = self.ledger.period_usage(sql, reseller_id, period.start, period.end)
        return reseller, compute_totals(usage, reseller.terms.currency, reseller.terms.tax_rate)

    def create_invoice(self, reseller_id: str, period: Period, request_id: str = "") -> tuple[Invoice, int]:
        check_text("request_id", request_id, MAX_REQUEST_ID)
        key = f"request:{request_id}" if request_id else f"auto:{uuid4().hex}"
        with self._invoice_lock:
            return self.retrying(lambda: self._create_invoice(key, request_id, reseller_id, period))

    def _create_invoice(self, key: str, request_id: str, reseller_id: str, period: Period):
        invoice_id = invoice_uuid(key)
        if request_id:
            existing = self.load_or_none(invoice_id)
            if existing is not None:
                if not existing.same_request(reseller_id, period):
                    raise AlreadyExists(f"request_id {request_id!r} was used for a different invoice request")
                return existing, self.position_of(invoice_id)
        reseller = self.get_reseller(reseller_id)
        with self.backend.reseller_guard(reseller_id):
            return self._issue(key, request_id, invoice_id, reseller, period)

    def _issue(self, key: str, request_id: str, invoice_id: UUID, reseller: Reseller, period: Period):
        terms, reseller_id = reseller.terms, reseller.reseller_id
        with self.backend.transaction(write=False) as sql:
            # Usage first, watermark second: a batch landing in between raises the watermark
            # and changes the usage, which the save's re-check turns into a retry.
            usage = self.ledger.period_usage(sql, reseller_id, period.start, period.end)
            covers_through = self.ledger.batch_seq(sql, reseller_id)
        totals = compute_totals(usage, terms.currency, terms.tax_rate)
        book = self.load_or_none(InvoiceBook.create_id(reseller_id)) or InvoiceBook(reseller_id)
        numbering = self.load_or_none(Numbering.create_id()) or Numbering()
        issued_at = datetime.now(timezone.utc)
        issue_date = issued_at.astimezone(ZoneInfo(terms.time_zone)).date()
        sequence, number = numbering.take(str(invoice_id), issue_date)
        book.claim(str(invoice_id), number, period)
        invoice = Invoice(invoice_key=key, request_id=request_id, sequence=sequence, number=number,
                          reseller_id=reseller_id, period=period.as_dict(), issued_at=issued_at,
                          issue_date=issue_date.isoformat(), bill_to=terms.as_dict(),
                          currency=terms.currency, lines=totals.lines, subtotal=totals.subtotal,
                          tax_rate=totals.tax_rate, tax=totals.tax, total=totals.total,
                          template_version=self.default_template_version(), covers_through=covers_through)
        write = InvoiceIssuedWrite(str(invoice_id), reseller_id, number, sequence, period.start, period.end,
                                   tuple(usage))
        return invoice, self.save_all(invoice, numbering, book, side_writes=(write,))

    def default_template_version(self) -> int:
        """The catalogue's default (0 = built-in); pinned on each new invoice."""
        from domain.templates import CATALOG_ID  # the catalogue lives with its TemplateBook (service/templates.py)
        catalog = self.load_or_none(CATALOG_ID)
        return catalog.default_version if catalog is not None else 0

    def get_invoice(self, invoice_id: UUID, version: int | None = None) -> Invoice:
        return self.load(invoice_id, f"invoice {invoice_id}", version)

    def invoice_id_by_number(self, number: str) -> UUID:
        check_text("number", number, 128, required=True)
        with self.backend.transaction(write=False) as sql:
            rows = sql.execute("SELECT invoice_id FROM billing_invoices WHERE number = ?", (number,)).fetchall()
        if not rows:
            raise NotFound(f"invoice number {number[:64]!r} not found")
        return UUID(rows[0][0])

    def void_invoice(self, invoice_id: UUID, reason: str) -> tuple[Invoice, int]:
        if not reason.strip() or len(reason) > MAX_REASON:
            raise InvalidArgument("reason", f"a reason of 1..{MAX_REASON} characters is required")

        def attempt():
            invoice = self.get_invoice(invoice_id)
            invoice.void(reason)
            book = self.load(InvoiceBook.create_id(invoice.reseller_id), "invoice book")
            book.release(str(invoice_id))
            write = InvoiceVoidedWrite(str(invoice_id), invoice.reseller_id)
            return invoice, self.save_all(invoice, book, side_writes=(write,))
        return self.retrying(attempt)

    def invoice_history(self, invoice_id: UUID) -> list:
        events = list(self.events.get(invoice_id))
        if not events:
            raise NotFound(f"invoice {invoice_id} not found")
        return events

    # ---- numbering ---------------------------------------------------------------------
    def get_numbering(self) -> tuple[Numbering, int]:
        numbering = self.load_or_none(Numbering.create_id())
        if numbering is None:
            return Numbering(), 0
        return numbering, self.position_of(numbering.id)

    def update_numbering(self, pattern: str, start: int) -> tuple[Numbering, int]:
        def attempt():
            numbering = self.load_or_none(Numbering.create_id()) or Numbering()
            numbering.reconfigure(pattern or None, start or None)
            return numbering, self.save_all(numbering)
        with self._invoice_lock:
            return self.retrying(attempt)
