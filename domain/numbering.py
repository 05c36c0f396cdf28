"""The one global, gap-free invoice counter and its number pattern (SPEC §6)."""
import re
from datetime import date
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import FailedPrecondition, InvalidArgument
from domain.reseller import NAMESPACE
from domain.text import check_text

DEFAULT_PATTERN = "%num%"
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


class Numbering(Aggregate):
    """The counter. Advanced in the same atomic save as the invoice it numbers."""

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

    def reconfigure(self, pattern: str | None, start: int | None) -> None:
        new_pattern = validate_pattern(pattern) if pattern else self.pattern
        new_next = self.next_number if not start else start
        if new_next < self.next_number:
            raise FailedPrecondition(f"start {new_next} is below the next number {self.next_number}")
        if new_next > MAX_NUMBER:
            raise InvalidArgument("start", f"must be at most {MAX_NUMBER}")
        self._reconfigure(new_pattern, new_next)

    def take(self, invoice_id: str, issue_date: date) -> tuple[int, str]:
        """Advance the counter; returns (sequence number, formatted invoice number)."""
        number = self.next_number
        self._advance(number, invoice_id)
        return number, format_number(self.pattern, number, issue_date)


NUMBERING_ID = uuid5(NAMESPACE, "numbering:global")
