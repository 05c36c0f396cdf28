"""Credit notes (SPEC §13): correct an issued invoice. The credit note, the invoice's `Credited`
event, the series advance (and, when it completes the invoice, the freed period) are one save."""
import threading
from datetime import date, datetime, timezone
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from domain.credit_note import MAX_REASON, CreditNote, credit_note_uuid
from domain.errors import AlreadyExists, InvalidArgument
from domain.invoice import InvoiceBook, InvoiceStatus
from domain.numbering import DocumentKind
from domain.text import check_text
from service.event_store import EventStore
from service.persistence.document_index import DocumentIssuedWrite, DocumentStatusWrite
from service.render.job import BUILTIN_REVISION
from service.retry import retrying
from service.usecases.invoicing import MAX_REQUEST_ID, Invoicing
from service.usecases.numbering import NumberingAdmin
from service.usecases.resellers import Resellers

MAX_LINES = 1000


class CreditNotes:
    def __init__(self, store: EventStore, invoicing: Invoicing, resellers: Resellers, numbering: NumberingAdmin,
                 counter_lock: threading.Lock, default_template):
        self.store = store
        self.invoicing = invoicing
        self.resellers = resellers
        self.numbering = numbering
        self.counter_lock = counter_lock
        self.default_template = default_template

    def issue(self, invoice_id: UUID, reason: str, lines: list[tuple[str, str]],
              request_id: str = "") -> tuple[CreditNote, int]:
        if not reason.strip() or len(reason) > MAX_REASON:
            raise InvalidArgument("reason", f"a reason of 1..{MAX_REASON} characters is required")
        check_text("reason", reason, MAX_REASON, multiline=True)
        check_text("request_id", request_id, MAX_REQUEST_ID)
        if len(lines) > MAX_LINES:
            raise InvalidArgument("lines", f"at most {MAX_LINES} lines")
        key = f"request:{request_id}" if request_id else f"auto:{uuid4().hex}"
        requested = [[group, amount] for group, amount in lines]
        with self.counter_lock:
            return retrying(lambda: self._issue(key, request_id, invoice_id, reason, requested))

    def _issue(self, key: str, request_id: str, invoice_id: UUID, reason: str, requested: list):
        note_id = credit_note_uuid(key)
        if request_id:
            existing = self.store.load_or_none(note_id)
            if existing is not None:
                if not existing.same_request(str(invoice_id), reason, requested):
                    raise AlreadyExists(f"request_id {request_id!r} was used for a different credit note request")
                return existing, self.store.positions.of(note_id)
        invoice, _ = self.invoicing.get(invoice_id)
        plan = invoice.plan_credit([(g, a) for g, a in requested])
        terms = self.resellers.get(invoice.reseller_id).terms
        series_id = self.numbering.series_for(DocumentKind.CREDIT_NOTE, terms.credit_note_series_id,
                                              "credit_note_series_id")
        series = self.numbering.counter(series_id)
        issued_at = datetime.now(timezone.utc)
        issue_date = issued_at.astimezone(ZoneInfo(terms.time_zone)).date()
        sequence, number = self.numbering.take(series, str(note_id), issue_date)
        note = CreditNote(key=key, request_id=request_id, requested=requested, sequence=sequence, number=number,
                          series_id=series_id, invoice_id=str(invoice_id), invoice_number=invoice.number,
                          invoice_issue_date=invoice.issue_date, period=invoice.period,
                          reseller_id=invoice.reseller_id, issued_at=issued_at, issue_date=issue_date.isoformat(),
                          reason=reason, bill_to=terms.as_dict(), currency=invoice.currency, lines=plan.lines,
                          subtotal=plan.subtotal, tax_rate=invoice.tax_rate, tax=plan.tax, total=plan.total,
                          template_version=self.default_template(), builtin_revision=BUILTIN_REVISION)
        invoice.credit(str(note_id), number, issue_date, plan)
        aggregates = [note, invoice, series]
        period = invoice.period
        writes = [DocumentIssuedWrite(str(note_id), DocumentKind.CREDIT_NOTE, invoice.reseller_id, number,
                                      series_id, sequence, _day(period["start"]), _day(period["end"]))]
        if plan.completes:  # the period is free to invoice again (credit-and-rebill)
            book = self.store.load(InvoiceBook.create_id(invoice.reseller_id), "invoice book")
            book.release(str(invoice_id))
            aggregates.append(book)
            writes.append(DocumentStatusWrite(str(invoice_id), invoice.reseller_id, InvoiceStatus.CREDITED))
        return note, self.store.save_all(*aggregates, side_writes=tuple(writes))

    def get(self, credit_note_id: UUID) -> tuple[CreditNote, int]:
        note = self.store.load(credit_note_id, f"credit note {credit_note_id}")
        if not isinstance(note, CreditNote):
            raise InvalidArgument("credit_note_id", "names something that is not a credit note")
        return note, self.store.positions.of(credit_note_id)

    def id_by_number(self, number: str) -> UUID:
        return self.invoicing.id_by_number(number, DocumentKind.CREDIT_NOTE)


def _day(text: str) -> date:
    return date.fromisoformat(text)
