"""Gap-free numbering series and their number patterns (SPEC §6, §12).

The built-in `invoices` series is the first release's one global counter (`Numbering`, same
aggregate id and events, so existing stores keep their counter and history); every other
series — the built-in `credit-notes` and any created by UpsertSeries — is a `NumberingSeries`.
Both advance in the same atomic save as the document they number.
"""
import re
from datetime import date
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import FailedPrecondition, InvalidArgument
from domain.ids import NAMESPACE
from domain.text import check_text

DEFAULT_PATTERN = "%num%"
SERIES_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


class DocumentKind:
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"


INVOICES, CREDIT_NOTES = "invoices", "credit-notes"
BUILT_IN = {INVOICES: (DocumentKind.INVOICE, DEFAULT_PATTERN), CREDIT_NOTES: (DocumentKind.CREDIT_NOTE, "CN-%num%")}
DEFAULT_SERIES = {DocumentKind.INVOICE: INVOICES, DocumentKind.CREDIT_NOTE: CREDIT_NOTES}
PLACEHOLDER = re.compile(r"%([a-z]+)%")
KNOWN = {"year", "mon", "mday", "num"}
MAX_PATTERN = 64
MAX_NUMBER = 10**15


def validate_pattern(pattern: str) -> str:
    check_text("pattern", pattern, MAX_PATTERN)
    names = PLACEHOLDER.findall(pattern)
    unknown = sorted(set(names) - KNOWN)
    if unknown:
        raise InvalidArgument("pattern", f"unknown placeholder %{unknown[0]}% (known: %year% %mon% %mday% %num%)")
    if names.count("num") != 1:
        raise InvalidArgument("pattern", "%num% must appear exactly once")
    return pattern


def format_number(pattern: str, number: int, issue_date: date) -> str:
    values = {"year": f"{issue_date.year:04d}", "mon": f"{issue_date.month:02d}",
              "mday": f"{issue_date.day:02d}", "num": str(number)}
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], pattern)


def validate_series_id(series_id: str, field: str = "series_id") -> str:
    if not SERIES_ID.fullmatch(series_id or ""):
        raise InvalidArgument(field, "want 1-63 characters: a-z, 0-9 and '-', starting with a letter or digit")
    return series_id


class Counter:
    """The rules every series shares: reconfigure (start only forward) and take the next number."""

    pattern: str
    next_number: int

    def reconfigure(self, pattern: str | None, start: int | None) -> None:
        new_pattern = validate_pattern(pattern) if pattern else self.pattern
        new_next = self.next_number if not start else start
        if new_next < self.next_number:
            raise FailedPrecondition(f"start {new_next} is below the next number {self.next_number}")
        if new_next > MAX_NUMBER:
            raise InvalidArgument("start", f"must be at most {MAX_NUMBER}")
        self._reconfigure(new_pattern, new_next)

    def peek(self, issue_date: date) -> str:
        """The number the next document would get (nothing is taken)."""
        return format_number(self.pattern, self.next_number, issue_date)

    def take(self, document_id: str, issue_date: date) -> tuple[int, str]:
        """Advance the counter; returns (sequence number, formatted document number)."""
        number = self.next_number
        self._advance(number, document_id)
        return number, format_number(self.pattern, number, issue_date)

    def __deepcopy__(self, memo: dict) -> "Counter":
        """A copy for a command (the aggregate cache hands out copies): every field is a str or an
        int, so copying the attributes is enough (generic deepcopy was ~3 % of a CreateInvoice)."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.__dict__["_pending_events"] = list(self._pending_events)
        return copy

    def _reconfigure(self, pattern: str, next_number: int) -> None:
        raise NotImplementedError

    def _advance(self, number: int, document_id: str) -> None:
        raise NotImplementedError


class Numbering(Counter, Aggregate):
    """The built-in `invoices` series: the first release's global invoice counter."""

    series_id = INVOICES
    kind = DocumentKind.INVOICE

    @staticmethod
    def create_id() -> UUID:
        return NUMBERING_ID

    @event("Configured")
    def __init__(self, pattern: str = DEFAULT_PATTERN, next_number: int = 1):
        self.pattern = pattern
        self.next_number = next_number

    @event("Reconfigured")
    def _reconfigure(self, pattern: str, next_number: int) -> None:
        self.pattern = pattern
        self.next_number = next_number

    @event("Advanced")
    def _advance(self, number: int, invoice_id: str) -> None:
        self.next_number = number + 1


class NumberingSeries(Counter, Aggregate):
    """Any other series: the built-in `credit-notes` and the ones UpsertSeries creates."""

    @staticmethod
    def create_id(series_id: str) -> UUID:
        return series_uuid(series_id)

    @event("Created")
    def __init__(self, series_id: str, kind: str, pattern: str, next_number: int = 1):
        self.series_id = series_id
        self.kind = kind
        self.pattern = pattern
        self.next_number = next_number

    @event("Reconfigured")
    def _reconfigure(self, pattern: str, next_number: int) -> None:
        self.pattern = pattern
        self.next_number = next_number

    @event("Advanced")
    def _advance(self, number: int, document_id: str) -> None:
        self.next_number = number + 1


def series_uuid(series_id: str) -> UUID:
    return NUMBERING_ID if series_id == INVOICES else uuid5(NAMESPACE, "numbering-series:" + series_id)


def new_series(series_id: str, kind: str, pattern: str | None, start: int | None) -> NumberingSeries:
    """A series as UpsertSeries creates it (built-ins start with their default pattern)."""
    validate_series_id(series_id)
    builtin_kind, default_pattern = BUILT_IN.get(series_id, (kind, None))
    if kind != builtin_kind:
        raise FailedPrecondition(f"series {series_id} is of kind {builtin_kind}; its kind cannot change")
    pattern = validate_pattern(pattern) if pattern else default_pattern
    if pattern is None:
        raise InvalidArgument("pattern", "a new series needs a pattern")
    start = start or 1
    if start > MAX_NUMBER:
        raise InvalidArgument("start", f"must be at most {MAX_NUMBER}")
    return NumberingSeries(series_id=series_id, kind=kind, pattern=pattern, next_number=start)


NUMBERING_ID = uuid5(NAMESPACE, "numbering:global")
