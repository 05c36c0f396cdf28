"""Invoices (SPEC §5, §6): calculate, issue (number + book + invoice in one save), read, void."""
import itertools
import logging
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, ContextManager
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from domain.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from domain.invoice import (Invoice, InvoiceBook, InvoiceStatus, Totals, UsageRow, compute_totals,
                            invoice_uuid)
from domain.numbering import Counter, DocumentKind
from domain.period import Period
from domain.reseller import Reseller
from domain.text import MAX_ID, check_text
from service.event_store import EventStore
from service.persistence.document_index import DocumentIndex, DocumentIssuedWrite, DocumentStatusWrite
from service.persistence.ledger import Ledger
from service.persistence.errors import is_unreachable
from service.render.job import BUILTIN_REVISION
from service.retry import retrying
from service.usecases.group_commit import GroupCommit, Outcome
from service.usecases.numbering import NumberingAdmin
from service.usecases.resellers import Resellers

log = logging.getLogger("billing.invoicing")
MAX_REQUEST_ID = 255
MAX_REASON = 1000


class GroupAborted(Conflict):
    """A create saved in a group failed; the others retry alone."""


@dataclass(frozen=True)
class IssueRequest:
    """An invoice calculated and ready to be numbered and saved."""

    key: str
    request_id: str
    invoice_id: UUID
    reseller: Reseller
    period: Period
    usage: list[UsageRow]
    covers_through: int
    totals: Totals
    book: InvoiceBook
    template_version: int


class Invoicing:
    def __init__(self, store: EventStore, ledger: Ledger, index: DocumentIndex, resellers: Resellers,
                 numbering: NumberingAdmin, reseller_guard: Callable[[str], ContextManager],
                 counter_lock: threading.Lock, default_template: Callable[[], int], guard_first: bool = False):
        self.store = store
        self.ledger = ledger
        self.index = index
        self.resellers = resellers
        self.numbering = numbering
        self.reseller_guard = reseller_guard  # keeps the reseller's ingest out while an invoice is made
        self.guard_first = guard_first  # PostgreSQL: every attempt holds the guard (see _create)
        self.counter_lock = counter_lock  # in-process creates share one counter: queue, don't collide
        self.default_template = default_template  # the template version new invoices pin
        self.creates = GroupCommit(counter_lock, self._save_group)  # creates queued behind one save together
        self.saved_books: dict[str, int] = {}  # reseller id -> the book version this process saved last

    def calculate(self, reseller_id: str, period: Period) -> tuple[Reseller, Totals]:
        reseller = self.resellers.get(reseller_id)
        usage = self.ledger.period_usage(reseller_id, period.start, period.end)
        return reseller, compute_totals(usage, reseller.terms.currency, reseller.terms.tax_rate)

    def create(self, reseller_id: str, period: Period, request_id: str = "") -> tuple[Invoice, int]:
        check_text("request_id", request_id, MAX_REQUEST_ID)
        key = f"request:{request_id}" if request_id else f"auto:{uuid4().hex}"
        attempts = itertools.count()
        return retrying(lambda: self._create(key, request_id, reseller_id, period, retry=next(attempts) > 0))

    def _create(self, key: str, request_id: str, reseller_id: str, period: Period,
                retry: bool) -> tuple[Invoice, int]:
        """One attempt. On SQLite the first is optimistic: the save re-checks the period's usage in
        its write transaction (SQLite's single writer keeps ingest out) and aborts if calls arrived
        meanwhile, so a create never waits for call batches (issue #11). A retry, and every attempt
        on PostgreSQL, holds the reseller guard throughout: a steady stream of calls cannot abort it,
        and a PostgreSQL save never has to wait for (or give up on) the reseller's lock while it
        holds the counter — ingest there takes the same advisory lock per batch, so the guard waits
        only for the reseller's batches in flight. The first attempt is saved in a group; a retry
        alone, so whatever aborted its group cannot abort it again. Everything read before the
        counter is read in one read session (one snapshot), ended before queueing for the counter."""
        invoice_id = invoice_uuid(key)
        with self.reseller_guard(reseller_id) if retry or self.guard_first else nullcontext():
            with self.store.reading():
                existing = self.store.load_or_none(invoice_id) if request_id else None
                if existing is not None:
                    if not existing.same_request(reseller_id, period):
                        raise AlreadyExists(f"request_id {request_id!r} was used for a different invoice request")
                    return existing, self.store.positions.of(invoice_id)
                issue = self._prepare(key, request_id, invoice_id, self.resellers.get(reseller_id), period)
            if retry:  # saved alone: whatever aborted its group cannot abort it again
                with self.counter_lock:
                    return self._save_alone(issue)
            return self.creates.submit(issue)

    def _prepare(self, key: str, request_id: str, invoice_id: UUID, reseller: Reseller, period: Period) -> IssueRequest:
        """The invoice calculated, with its book and template: everything but its number."""
        terms, reseller_id = reseller.terms, reseller.reseller_id
        usage, covers_through = self.ledger.usage_and_watermark(reseller_id, period.start, period.end)
        totals = compute_totals(usage, terms.currency, terms.tax_rate)
        # The book and the template are read before the counter lock: a book that changes
        # meanwhile makes the save clash on its version (and retry); the lock guards the counter.
        book = self.store.load_or_none(InvoiceBook.create_id(reseller_id)) or InvoiceBook(reseller_id)
        book.check_free(period)  # an overlap is refused before queueing for the counter
        return IssueRequest(key, request_id, invoice_id, reseller, period, usage, covers_through, totals, book,
                            self.default_template())

    # ---- numbering and saving (under the counter lock) ------------------------------------------
    def _save_group(self, issues: list[IssueRequest]) -> list[Outcome]:
        """Save the queued creates: one per reseller together in one transaction, then any second one
        for the same reseller alone, on the book the first one just saved."""
        together, after, resellers = [], [], set()
        for issue in issues:
            (after if issue.reseller.reseller_id in resellers else together).append(issue)
            resellers.add(issue.reseller.reseller_id)
        outcomes = dict(zip(map(id, together), self._save_together(together) if len(together) > 1
                            else [self._outcome_alone(together[0])]))
        outcomes.update((id(issue), self._outcome_alone(issue)) for issue in after)
        return [outcomes[id(issue)] for issue in issues]

    def _save_together(self, issues: list[IssueRequest]) -> list[Outcome]:
        """One atomic save of several invoices (numbers in queue order, gap-free). If anything fails,
        nothing is written and every create retries alone (a GroupAborted conflict), where only the
        culprit meets its error again; an unreachable database is reported as it is."""
        try:
            series: dict[str, Counter] = {}
            with self.store.reading():
                # No number look-up per create: a taken number fails the group's save (UNIQUE),
                # and each create then retries alone, where the look-up names the error.
                built = [self._build(issue, series, check_number=False) for issue in issues]
            invoices, books = [b[0] for b in built], [b[1] for b in built]
            recordings = self.store.save_recorded(*invoices, *series.values(), *books,  # books last: each
                                                  side_writes=tuple(b[2] for b in built))  # create's position
        except Exception as e:  # noqa: BLE001 - sorted out by retrying each alone
            if is_unreachable(e):
                return [Outcome(error=e) for _ in issues]
            log.debug("group of %d creates aborted, each retries alone: %s", len(issues), e)
            return [Outcome(error=GroupAborted(f"a create saved in the same group failed: {e}")) for _ in issues]
        self._saved(books)
        position = {r.domain_event.originator_id: r.notification.id for r in recordings}  # the last event of each
        return [Outcome((invoice, position[book.id])) for invoice, book in zip(invoices, books)]

    def _outcome_alone(self, issue: IssueRequest) -> Outcome:
        try:
            return Outcome(self._save_alone(issue))
        except Exception as e:  # noqa: BLE001 - raised in the create's own thread
            return Outcome(error=e)

    def _save_alone(self, issue: IssueRequest) -> tuple[Invoice, int]:
        series: dict[str, Counter] = {}
        with self.store.reading():
            invoice, book, write = self._build(issue, series)
        position = self.store.save_all(invoice, *series.values(), book, side_writes=(write,))
        self._saved([book])
        return invoice, position

    def _saved(self, books: list[InvoiceBook]) -> None:
        for book in books:
            self.saved_books[book.reseller_id] = max(book.version, self.saved_books.get(book.reseller_id, 0))

    def _build(self, issue: IssueRequest, series: dict[str, Counter],
               check_number: bool = True) -> tuple[Invoice, InvoiceBook, DocumentIssuedWrite]:
        """Number the invoice (advancing its series, loaded once per group into `series`) and claim its
        period in its book; returns the new invoice, the book and the index write. Reads only (the
        callers read in one session under the counter lock, then save)."""
        terms, reseller_id, period = issue.reseller.terms, issue.reseller.reseller_id, issue.period
        series_id = self.numbering.series_for(DocumentKind.INVOICE, terms.invoice_series_id, "invoice_series_id")
        if series_id not in series:
            series[series_id] = self.numbering.counter(series_id)
        issued_at = datetime.now(timezone.utc)
        issue_date = issued_at.astimezone(ZoneInfo(terms.time_zone)).date()
        sequence, number = self.numbering.take(series[series_id], str(issue.invoice_id), issue_date, check_number)
        book = issue.book
        if book.version < self.saved_books.get(reseller_id, 0):  # a create for the reseller saved since
            book = self.store.load(book.id, "invoice book")  # it was read: saving this one would clash
        book.claim(str(issue.invoice_id), number, period)
        totals = issue.totals
        invoice = Invoice(invoice_key=issue.key, request_id=issue.request_id, sequence=sequence, number=number,
                          reseller_id=reseller_id, period=period.as_dict(), issued_at=issued_at,
                          issue_date=issue_date.isoformat(), bill_to=terms.as_dict(),
                          currency=terms.currency, lines=totals.lines, subtotal=totals.subtotal,
                          tax_rate=totals.tax_rate, tax=totals.tax, total=totals.total,
                          template_version=issue.template_version, covers_through=issue.covers_through,
                          series_id=series_id, due_date=(issue_date + timedelta(days=terms.payment_terms_days)).isoformat(),
                          builtin_revision=BUILTIN_REVISION)
        write = DocumentIssuedWrite(str(issue.invoice_id), DocumentKind.INVOICE, reseller_id, number, series_id,
                                    sequence, period.start, period.end, tuple(issue.usage), issue.covers_through)
        return invoice, book, write

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
