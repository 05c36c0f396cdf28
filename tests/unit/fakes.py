"""In-memory stand-ins for the persistence adapters (cosmicpython's FakeRepository idea), and the use
cases wired to them (`use_cases()`).

`FakeStorage` bundles an EventStore on the eventsourcing library's in-memory (POPO) recorder with
in-memory versions of the Ledger, DocumentIndex, ResellerIndex and EventPositions. The side writes
that the real recorders run as SQL in the events' transaction are interpreted here by their
fields (`run_side_write`), inside the recorder's lock, after the events' version check and before
the events are appended: a refused side write stores no event and undoes the save's other side
writes, exactly like a rolled-back transaction. The rules the real adapters enforce are enforced
here too (duplicate and conflicting calls, unknown reseller and currency, late calls, the usage
re-check at invoice save, unique document numbers, no currency/zone change once calls exist);
tests/integration/test_persistence_adapters.py holds the real adapters to the same rules.
"""
import copy
import threading
from collections import defaultdict
from contextlib import nullcontext
from datetime import date, datetime, timezone
from types import SimpleNamespace
from typing import Any, Sequence

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.popo import POPOApplicationRecorder

from domain.calls import BatchResult, CallInput, LocalDays, check_call
from domain.errors import FailedPrecondition
from domain.invoice import InvoiceStatus, UsageRow
from domain.numbering import DocumentKind
from domain.period import Period
from domain.reseller import ResellerTerms
from domain.text import MAX_ID
from service.event_store import EventStore
from service.persistence.document_index import (ActivePeriod, DocumentIssuedWrite, DocumentStatusWrite, IndexRow,
                                                SeriesCreatedWrite, UsageChanged)
from service.persistence.ledger import CallRow
from service.persistence.ledger_queries import RollupRow
from service.persistence.reseller_index import ResellerTermsWrite
from service.usecases.ingest import Ingest
from service.usecases.invoicing import Invoicing
from service.usecases.numbering import NumberingAdmin
from service.usecases.resellers import Resellers


class SideWritingRecorder(POPOApplicationRecorder):
    """The library's in-memory recorder, running side writes atomically with the events."""

    def __init__(self, run_side_writes):
        super().__init__()
        self.run_side_writes = run_side_writes

    def _insert_events(self, stored_events, **kwargs: Any):
        with self._database_lock:
            self._assert_uniqueness(stored_events, **kwargs)
            self.run_side_writes(kwargs.get("side_writes", ()))
            return self._update_table(stored_events, **kwargs)


class FakePositions:
    """EventPositions over the in-memory log (position = notification id, from 1)."""

    def __init__(self, recorder: POPOApplicationRecorder):
        self.recorder = recorder

    def of(self, aggregate_id) -> int:
        found = [n.id for n in self.recorder.select_notifications(1, 10**9) if n.originator_id == aggregate_id]
        return max(found, default=0)


class FakeEventStore(EventStore):
    """EventStore's own save_all / load / load_or_none, on the in-memory recorder."""

    def __init__(self, run_side_writes):
        self._run_side_writes = run_side_writes
        Application.__init__(self, env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.positions = FakePositions(self.recorder)
        self.on_saved = []

    def construct_recorder(self):
        return SideWritingRecorder(self._run_side_writes)

    def reading(self):
        return nullcontext()  # in memory: nothing to share


class FakeResellerIndex:
    """billing_resellers: {reseller_id: [currency, time_zone, batch_seq]}."""

    def __init__(self):
        self.terms: dict[str, list] = {}
        self.has_calls = lambda reseller_id: False  # FakeStorage wires in the ledger

    def ids_after(self, after: str, limit: int) -> list[str]:
        return sorted(i for i in self.terms if i > after)[:limit]

    def run_side_write(self, write: ResellerTermsWrite) -> None:
        if write.terms_changed and self.has_calls(write.reseller_id):
            raise FailedPrecondition("currency and time_zone cannot change once the reseller has calls")
        seq = self.terms.get(write.reseller_id, [None, None, 0])[2]
        self.terms[write.reseller_id] = [write.currency, write.time_zone, seq]


class FakeDocumentIndex:
    """billing_documents as {document_id: IndexRow}, and billing_series as {series_id: kind}."""

    def __init__(self):
        self.index: dict[str, IndexRow] = {}
        self.series: dict[str, str] = {}
        self.period_usage = lambda reseller_id, start, end: []  # FakeStorage wires in the ledger

    def find(self, number: str) -> tuple[str, str] | None:
        row = self.numbered(number)
        return (row.document_id, row.kind) if row else None

    def numbered(self, number: str) -> IndexRow | None:
        return next((r for r in self.index.values() if r.number == number), None)

    def active_periods(self, reseller_id: str) -> list[ActivePeriod]:
        return [ActivePeriod(r.start_day, r.end_day, r.document_id) for r in self.index.values()
                if r.reseller_id == reseller_id and r.kind == DocumentKind.INVOICE and r.status == InvoiceStatus.ISSUED]

    def rows(self) -> dict[str, IndexRow]:
        return dict(self.index)

    def series_after(self, after: str, limit: int) -> list[tuple[str, str]]:
        return [(sid, self.series[sid]) for sid in sorted(self.series) if sid > after][:limit]

    def run_side_write(self, write) -> None:
        if isinstance(write, SeriesCreatedWrite):
            self.series.setdefault(write.series_id, write.kind)
        elif isinstance(write, DocumentStatusWrite):
            self.index[write.document_id] = self.index[write.document_id]._replace(status=write.status)
        else:
            self._issue(write)

    def _issue(self, write: DocumentIssuedWrite) -> None:
        if write.usage is not None and sorted(self.period_usage(write.reseller_id, write.start, write.end)) != \
                sorted(write.usage):
            raise UsageChanged("calls arrived for the period while the invoice was being created")
        if write.document_id in self.index or self.find(write.number):
            raise IntegrityError("billing_documents: document_id and number are unique")
        self.index[write.document_id] = IndexRow(
            write.document_id, write.kind, write.reseller_id, write.number, write.series_id, write.sequence,
            InvoiceStatus.ISSUED, write.start.toordinal(), write.end.toordinal())


class FakeLedger:
    """billing_calls as {(reseller_id, call_id): CallRow}; rollups are summed from the rows on read."""

    def __init__(self, resellers: FakeResellerIndex, documents: FakeDocumentIndex):
        self.resellers = resellers
        self.documents = documents
        self.calls: dict[tuple[str, str], CallRow] = {}

    def record(self, calls: Sequence[CallInput], base: int = 0) -> BatchResult:
        result = BatchResult()
        seq = {}
        for rid in {c.reseller_id for c in calls if c.reseller_id in self.resellers.terms}:
            self.resellers.terms[rid][2] += 1
            seq[rid] = self.resellers.terms[rid][2]
        for index, c in enumerate(calls, base):
            row = self._row(c, seq, result, index)
            if row is None:
                continue
            stored = self.calls.get((c.reseller_id, c.call_id))
            if stored is None:
                self.calls[(c.reseller_id, c.call_id)] = row
                result.accepted += 1
                result.late += bool(row.late_for)
            elif stored[:9] == row[:9]:  # the same call: everything but late_for and batch_seq
                result.duplicates += 1
            else:
                result.rejected.append((index, c.call_id, "call_id already stored with different content"))
        result.rejected.sort()
        return result

    def _row(self, c: CallInput, seq: dict, result: BatchResult, index: int) -> CallRow | None:
        checked = check_call(c.call_id, c.destination_group, c.destination, c.amount, c.started_s)
        terms = self.resellers.terms.get(c.reseller_id)
        reason = (checked if isinstance(checked, str) else
                  f"unknown reseller {c.reseller_id[:MAX_ID]!r}" if terms is None else
                  f"currency {c.currency[:8]!r} is not the reseller's {terms[0]}" if c.currency != terms[0] else "")
        if reason:
            result.rejected.append((index, c.call_id, reason))
            return None
        day = LocalDays(terms[1]).day_of(c.started_s)
        late_for = next((p.invoice_id for p in self.documents.active_periods(c.reseller_id)
                         if p.start_day <= day <= p.end_day), "")
        return CallRow(c.reseller_id, c.call_id, c.started_s * 10**9 + c.started_nanos, day, c.billed_seconds,
                       c.destination, c.destination_group, checked[0], checked[1], late_for, seq[c.reseller_id])

    def has_calls(self, reseller_id: str) -> bool:
        return any(rid == reseller_id for rid, _ in self.calls)

    def _sums(self, reseller_id: str, start: date, end: date, key, through: int | None = None) -> dict:
        sums: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for r in self.calls.values():
            if r.reseller_id == reseller_id and start.toordinal() <= r.local_day <= end.toordinal() and (
                    through is None or r.batch_seq <= through):
                s = sums[key(r)]
                s[0], s[1], s[2], s[3] = s[0] + 1, s[1] + r.billed_seconds, s[2] + r.amount_units, s[3] + r.amount_nanos
        return sums

    def period_usage(self, reseller_id: str, start: date, end: date) -> list[UsageRow]:
        sums = self._sums(reseller_id, start, end, lambda r: r.destination_group)
        return [UsageRow(g, *s) for g, s in sums.items()]

    def usage_and_watermark(self, reseller_id: str, start: date, end: date) -> tuple[list[UsageRow], int]:
        return self.period_usage(reseller_id, start, end), self.resellers.terms.get(reseller_id, [0, 0, 0])[2]

    def rollups_and_active(self, reseller_id: str, start: date, end: date):
        sums = self._sums(reseller_id, start, end, lambda r: (r.local_day, r.destination_group, r.late_for))
        return [RollupRow(*k, *s) for k, s in sums.items()], self.documents.active_periods(reseller_id)

    def covered_usages(self, invoices):
        for reseller_id, start, end, through in invoices:
            sums = self._sums(reseller_id, start, end, lambda r: r.destination_group, through)
            yield [UsageRow(g, *s) for g, s in sums.items()]


class FakeStorage:
    """The fakes wired together, and the event store whose saves run their side writes."""

    def __init__(self):
        self.resellers = FakeResellerIndex()
        self.documents = FakeDocumentIndex()
        self.ledger = FakeLedger(self.resellers, self.documents)
        self.resellers.has_calls = self.ledger.has_calls
        self.documents.period_usage = self.ledger.period_usage
        self.store = FakeEventStore(self.run_side_writes)
        self.counter_lock = threading.Lock()

    def run_side_writes(self, writes) -> None:
        """All of a save's side writes or none of them (like the transaction they share)."""
        before = copy.deepcopy((self.resellers.terms, self.documents.index, self.documents.series))
        try:
            for write in writes:
                self.run_side_write(write)
        except BaseException:
            self.resellers.terms, self.documents.index, self.documents.series = before
            raise

    def run_side_write(self, write) -> None:
        if isinstance(write, ResellerTermsWrite):
            self.resellers.run_side_write(write)
        elif isinstance(write, (DocumentIssuedWrite, DocumentStatusWrite, SeriesCreatedWrite)):
            self.documents.run_side_write(write)
        else:
            raise TypeError(f"no fake for side write {type(write).__name__}")

    @staticmethod
    def reseller_guard(reseller_id: str):
        return nullcontext()


def use_cases() -> SimpleNamespace:
    """The use cases wired to fresh fakes, the way service/bootstrap.py wires them to the database."""
    fake = FakeStorage()
    numbering = NumberingAdmin(fake.store, fake.documents, fake.counter_lock)
    resellers = Resellers(fake.store, fake.resellers, numbering)
    invoicing = Invoicing(fake.store, fake.ledger, fake.documents, resellers, numbering, fake.reseller_guard,
                          fake.counter_lock, default_template=lambda: 4)
    return SimpleNamespace(fake=fake, store=fake.store, resellers=resellers, invoicing=invoicing, numbering=numbering,
                           ingest=Ingest(fake.ledger, resellers, writer=None))


# ---- sample values ---------------------------------------------------------------------------
def terms(reseller_id="r1", currency="EUR", time_zone="Europe/Berlin", **kw) -> ResellerTerms:
    return ResellerTerms.parse(**{"reseller_id": reseller_id, "name": f"Reseller {reseller_id}", "currency": currency,
                                  "time_zone": time_zone, "tax_rate": "0.19", **kw})


def call(call_id, when="2026-03-10T10:00:00", amount="1.25", group="DE Mobile", reseller_id="r1", currency="EUR",
         seconds=60) -> CallInput:
    started = int(datetime.fromisoformat(when).replace(tzinfo=timezone.utc).timestamp())
    return CallInput(call_id, reseller_id, started, 0, seconds, "49151", group, amount, currency)


def period(start="2026-03-01", end="2026-03-31") -> Period:
    return Period.of(date.fromisoformat(start), date.fromisoformat(end))


def events(uc) -> int:
    """The fake store's head position: how many events it holds."""
    return uc.store.recorder.max_notification_id() or 0
