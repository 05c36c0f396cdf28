"""Invoices (SPEC §5, §6): calculate, issue (number + book + invoice in one save), read, void."""
import threading
from datetime import datetime, timedelta, timezone
from typing import Callable, ContextManager
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from domain.errors import AlreadyExists, InvalidArgument, NotFound
from domain.invoice import Invoice, InvoiceBook, InvoiceStatus, Totals, compute_totals, invoice_uuid
from domain.numbering import DocumentKind
from domain.period import Period
from domain.reseller import Reseller
from domain.text import MAX_ID, check_text
from service.event_store import EventStore
from service.persistence.document_index import DocumentIndex, DocumentIssuedWrite, DocumentStatusWrite
from service.persistence.ledger import Ledger
from service.render.job import BUILTIN_REVISION
from service.retry import retrying
from service.usecases.numbering import NumberingAdmin
from service.usecases.resellers import Resellers

MAX_REQUEST_ID = 255
MAX_REASON = 1000


class Invoicing:
    def __init__(self, store: EventStore, ledger: Ledger, index: DocumentIndex, resellers: Resellers,
                 numbering: NumberingAdmin, reseller_guard: Callable[[str], ContextManager],
                 counter_lock: threading.Lock, default_template: Callable[[], int]):
        self.store = store
        self.ledger = ledger
        self.index = index
        self.resellers = resellers
        self.numbering = numbering
        self.reseller_guard = reseller_guard  # keeps the reseller's ingest out while an invoice is made
        self.counter_lock = counter_lock  # in-process creates share one counter: queue, don't collide
        self.default_template = default_template  # the template version new invoices pin

    def calculate(self, reseller_id: str, period: Period) -> tuple[Reseller, Totals]:
        reseller = self.resellers.get(reseller_id)
        usage = self.ledger.period_usage(reseller_id, period.start, period.end)
        return reseller, compute_totals(usage, reseller.terms.currency, reseller.terms.tax_rate)

    def create(self, reseller_id: str, period: Period, request_id: str = "") -> tuple[Invoice, int]:
        check_text("request_id", request_id, MAX_REQUEST_ID)
        key = f"request:{request_id}" if request_id else f"auto:{uuid4().hex}"
        return retrying(lambda: self._create(key, request_id, reseller_id, period))

    def _create(self, key: str, request_id: str, reseller_id: str, period: Period) -> tuple[Invoice, int]:
        invoice_id = invoice_uuid(key)
        if request_id:
            existing = self.store.load_or_none(invoice_id)
            if existing is not None:
                if not existing.same_request(reseller_id, period):
                    raise AlreadyExists(f"request_id {request_id!r} was used for a different invoice request")
                return existing, self.store.positions.of(invoice_id)
        reseller = self.resellers.get(reseller_id)
        with self.reseller_guard(reseller_id):
            return self._issue(key, request_id, invoice_id, reseller, period)

    def _issue(self, key: str, request_id: str, invoice_id: UUID, reseller: Reseller, period: Period):
        terms, reseller_id = reseller.terms, reseller.reseller_id
        usage, covers_through = self.ledger.usage_and_watermark(reseller_id, period.start, period.end)
        totals = compute_totals(usage, terms.currency, terms.tax_rate)
        with self.counter_lock:  # only the numbering part queues: other resellers' reads run meanwhile
            return self._number_and_save(key, request_id, invoice_id, reseller, period, usage, covers_through,
                                         totals)

    def _number_and_save(self, key, request_id, invoice_id, reseller, period, usage, covers_through, totals):
        terms, reseller_id = reseller.terms, reseller.reseller_id
        book = self.store.load_or_none(InvoiceBook.create_id(reseller_id)) or InvoiceBook(reseller_id)
        series_id = self.numbering.series_for(DocumentKind.INVOICE, terms.invoice_series_id, "invoice_series_id")
        series = self.numbering.counter(series_id)
        issued_at = datetime.now(timezone.utc)
        issue_date = issued_at.astimezone(ZoneInfo(terms.time_zone)).date()
        sequence, number = self.numbering.take(series, str(invoice_id), issue_date)
        book.claim(str(invoice_id), number, period)  # an overlap raises: nothing is saved
        invoice = Invoice(invoice_key=key, request_id=request_id, sequence=sequence, number=number,
                          reseller_id=reseller_id, period=period.as_dict(), issued_at=issued_at,
                          issue_date=issue_date.isoformat(), bill_to=terms.as_dict(),
                          currency=terms.currency, lines=totals.lines, subtotal=totals.subtotal,
                          tax_rate=totals.tax_rate, tax=totals.tax, total=totals.total,
                          template_version=self.default_template(), covers_through=covers_through,
                          series_id=series_id, due_date=(issue_date + timedelta(days=terms.payment_terms_days)).isoformat(),
                          builtin_revision=BUILTIN_REVISION)
        write = DocumentIssuedWrite(str(invoice_id), DocumentKind.INVOICE, reseller_id, number, series_id, sequence,
                                    period.start, period.end, tuple(usage))
        return invoice, self.store.save_all(invoice, series, book, side_writes=(write,))

    def get(self, invoice_id: UUID, version: int | None = None) -> tuple[Invoice, int]:
        invoice = self.store.load(invoice_id, f"invoice {invoice_id}", version)
        if not isinstance(invoice, Invoice):
            raise NotFound(f"invoice {invoice_id} not found")
        return invoice, self.store.positions.of(invoice_id)

    def id_by_number(self, number: str, kind: str = DocumentKind.INVOICE) -> UUID:
        check_text("number", number, MAX_ID, required=True)
        found = self.index.find(number)
        if found is None or found[1] != kind:
            what = "invoice" if kind == DocumentKind.INVOICE else "credit note"
            raise NotFound(f"{what} number {number[:64]!r} not found")
        return UUID(found[0])

    def void(self, invoice_id: UUID, reason: str) -> tuple[Invoice, int]:
        if not reason.strip() or len(reason) > MAX_REASON:
            raise InvalidArgument("reason", f"a reason of 1..{MAX_REASON} characters is required")

        def attempt():
            invoice, _ = self.get(invoice_id)
            invoice.void(reason)
            book = self.store.load(InvoiceBook.create_id(invoice.reseller_id), "invoice book")
            book.release(str(invoice_id))
            write = DocumentStatusWrite(str(invoice_id), invoice.reseller_id, InvoiceStatus.VOID)
            return invoice, self.store.save_all(invoice, book, side_writes=(write,))
        return retrying(attempt)
