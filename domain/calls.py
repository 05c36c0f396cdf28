"""Rules for one rated call: what makes it acceptable and which local day it belongs to."""
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

from domain.money import parse_call_amount
from domain.text import MAX_ID

MAX_DESTINATION_CHARS = 64
MAX_GROUP_CHARS = 128
# Calls outside [1970, 2200) are rejected as corrupt CDRs rather than stored.
MIN_STARTED_S = 0
MAX_STARTED_S = int(datetime(2200, 1, 1, tzinfo=timezone.utc).timestamp())
BUCKET_S = 900  # every current UTC offset is a multiple of 15 minutes


class CallInput(NamedTuple):
    """One rated call as it arrives from the switch (the edge converts the wire message to this)."""

    call_id: str
    reseller_id: str
    has_started: bool
    started_s: int
    started_nanos: int
    billed_seconds: int
    destination: str
    destination_group: str
    amount: str
    currency: str


@dataclass
class BatchResult:
    """The outcome of storing calls (SPEC §4): accepted + duplicates + len(rejected) = calls sent."""

    accepted: int = 0
    duplicates: int = 0
    late: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (stream index, call_id, reason)

    def add(self, other: "BatchResult") -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.late += other.late
        self.rejected.extend(other.rejected)


class LocalDays:
    """Maps UTC seconds to the local date ordinal in one zone, cached per 15-minute bucket."""

    def __init__(self, zone: str):
        self.tz = ZoneInfo(zone)
        self._cache: dict[int, int] = {}

    def day_of(self, seconds: int) -> int:
        bucket = seconds // BUCKET_S
        day = self._cache.get(bucket)
        if day is not None:
            return day
        first = self._exact(bucket * BUCKET_S)
        last = self._exact(bucket * BUCKET_S + BUCKET_S - 1)
        if first == last:  # a bucket that straddles local midnight (odd historic offsets) is not cached
            self._cache[bucket] = first
            return first
        return self._exact(seconds)

    def _exact(self, seconds: int) -> int:
        return datetime.fromtimestamp(seconds, self.tz).toordinal()


def check_call(call_id: str, group: str, destination: str, amount: str,
               has_started: bool, started_s: int) -> str | tuple[int, int]:
    """The reason a call is malformed, or its amount as (units, nanos).

    Reseller-dependent checks (known reseller, currency) come later, under the reseller's lock.
    """
    if not call_id:
        return "empty call_id"
    if len(call_id) > MAX_ID:
        return f"call_id longer than {MAX_ID} characters"
    if not (call_id.isprintable() and group.isprintable() and destination.isprintable()):
        return "control characters in call_id, destination or destination_group"
    if not has_started:
        return "missing started_at"
    if not MIN_STARTED_S <= started_s < MAX_STARTED_S:
        return "started_at outside 1970-01-01..2199-12-31"
    if not group:
        return "empty destination_group"
    if len(group) > MAX_GROUP_CHARS:
        return f"destination_group longer than {MAX_GROUP_CHARS} characters"
    if len(destination) > MAX_DESTINATION_CHARS:
        return f"destination longer than {MAX_DESTINATION_CHARS} characters"
    parsed = parse_call_amount(amount)
    if parsed is None:
        return "malformed amount (want a decimal string like 0.0125)"
    return parsed
