"""Numbering series (SPEC §6, §12): the built-in `invoices` counter, `credit-notes`, and per-issuer
series; each gap-free, advanced in the same atomic save as the document it numbers."""
import threading
from dataclasses import dataclass

from domain.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound
from domain.numbering import (BUILT_IN, DEFAULT_SERIES, INVOICES, Counter, Numbering, NumberingSeries, new_series,
                              series_uuid, validate_series_id)
from service.event_store import EventStore
from service.persistence.document_index import DocumentIndex, SeriesCreatedWrite
from service.retry import retrying


@dataclass(frozen=True)
class SeriesView:
    series_id: str
    kind: str
    pattern: str
    next_number: int
    position: int


class NumberingAdmin:
    def __init__(self, store: EventStore, index: DocumentIndex, counter_lock: threading.Lock):
        self.store = store
        self.index = index
        self.counter_lock = counter_lock  # shared with the document creates

    # ---- the first release's API: the built-in invoices series --------------------------
    def get(self) -> tuple[Numbering, int]:
        numbering = self.store.load_or_none(Numbering.create_id())
        if numbering is None:
            return Numbering(), 0
        return numbering, self.store.positions.of(numbering.id)

    def update(self, pattern: str, start: int) -> tuple[Numbering, int]:
        def attempt():
            numbering = self.store.load_or_none(Numbering.create_id()) or Numbering()
            numbering.reconfigure(pattern or None, start or None)
            return numbering, self.store.save_all(numbering)
        with self.counter_lock:
            return retrying(attempt)

    # ---- series -------------------------------------------------------------------------
    def counter(self, series_id: str) -> Counter:
        """The series aggregate to number a document with (a built-in one is created on first use)."""
        found = self.store.load_or_none(series_uuid(series_id))
        if found is not None:
            return found
        if series_id == INVOICES:
            return Numbering()
        if series_id in BUILT_IN:
            kind, pattern = BUILT_IN[series_id]
            return NumberingSeries(series_id=series_id, kind=kind, pattern=pattern, next_number=1)
        raise NotFound(f"numbering series {series_id!r} not found")

    def series_for(self, kind: str, series_id: str, field: str) -> str:
        """The series a reseller's documents of `kind` use: NOT_FOUND if unknown, INVALID_ARGUMENT
        if of another kind ("" = the built-in series of the kind)."""
        if not series_id:
            return DEFAULT_SERIES[kind]
        series = self.counter(validate_series_id(series_id, field))
        if series.kind != kind:
            raise InvalidArgument(field, f"series {series_id!r} numbers {series.kind} documents, not {kind}")
        return series_id

    def take(self, series: Counter, document_id: str, issue_date, check: bool = True) -> tuple[int, str]:
        """Advance `series` for a document, refusing a number some document already has (SPEC §12:
        nothing is written and the counter does not move). `check=False` only where a taken number
        may simply fail the save: billing_documents.number is UNIQUE, so the save writes nothing (a
        group of creates then retries each create alone, with the check that names the error)."""
        if not check:
            return series.take(document_id, issue_date)
        number = series.peek(issue_date)
        taken = self.index.numbered(number)
        if taken is not None and (taken.series_id, int(taken.sequence)) == (series.series_id, series.next_number):
            raise Conflict(f"series {series.series_id} advanced meanwhile (another process numbered {number!r})")
        if taken is not None:
            raise FailedPrecondition(f"series {series.series_id} would number this document {number!r}, which "
                                     "another document already has; change the series' pattern or start")
        return series.take(document_id, issue_date)

    def get_series(self, series_id: str) -> SeriesView:
        series = self.counter(validate_series_id(series_id))
        return self._view(series)

    def upsert_series(self, series_id: str, kind: str, pattern: str, start: int) -> SeriesView:
        validate_series_id(series_id)

        def attempt():
            existing = self.store.load_or_none(series_uuid(series_id))
            if existing is None and series_id not in BUILT_IN:
                series = new_series(series_id, kind, pattern or None, start or None)
                return self._saved(series, SeriesCreatedWrite(series_id, kind))
            series = existing or self.counter(series_id)
            if kind != series.kind:
                raise FailedPrecondition(f"series {series_id} numbers {series.kind} documents; its kind cannot change")
            series.reconfigure(pattern or None, start or None)
            return self._saved(series)
        with self.counter_lock:
            return retrying(attempt)

    def page(self, after: str, limit: int) -> tuple[list[SeriesView], bool]:
        """Every series by id above `after` (the built-in ones included)."""
        ids = sorted({*BUILT_IN, *(sid for sid, _ in self.index.series_after(after, limit + 1))})
        ids = [i for i in ids if i > after]
        return [self.get_series(i) for i in ids[:limit]], len(ids) > limit

    def _saved(self, series: Counter, *side_writes) -> SeriesView:
        position = self.store.save_all(series, side_writes=side_writes)
        return self._view(series, position)

    def _view(self, series: Counter, position: int | None = None) -> SeriesView:
        if position is None:
            position = self.store.positions.of(series.id)
        return SeriesView(series.series_id, series.kind, series.pattern, series.next_number, position)
