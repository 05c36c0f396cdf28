"""Rules for one rated call: what makes it acceptable and which local day it belongs to."""
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import repeat
from operator import add, floordiv, mul
from typing import Iterable, Iterator, NamedTuple, Sequence
from zoneinfo import ZoneInfo

from domain.money import parse_call_amount, parse_call_amounts
from domain.text import MAX_ID

MAX_DESTINATION_CHARS = 64
MAX_GROUP_CHARS = 128
# Calls outside [1970, 2200) are rejected as corrupt CDRs rather than stored.
MIN_STARTED_S = 0
MAX_STARTED_S = int(datetime(2200, 1, 1, tzinfo=timezone.utc).timestamp())
BUCKET_S = 900  # every current UTC offset is a multiple of 15 minutes


class CallInput(NamedTuple):
    """One rated call as it arrives from the switch (the edge converts the wire message to this).

    The ingest path carries plain tuples in this field order (see IncomingCalls); this class
    names the positions."""

    call_id: str
    reseller_id: str
    started_s: int | None  # None: the call has no started_at
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

    def days_of(self, seconds: Sequence[int]) -> list[int]:
        """day_of for many calls: the buckets not cached yet are filled first, then every call is
        looked up in C loops (only a bucket straddling local midnight goes call by call)."""
        buckets = list(map(floordiv, seconds, repeat(BUCKET_S)))
        cache = self._cache
        days = list(map(cache.get, buckets))
        if None in days:
            for bucket in set(buckets).difference(cache):
                self.day_of(bucket * BUCKET_S)  # caches the bucket unless it straddles midnight
            days = list(map(cache.get, buckets))
            if None in days:
                days = [self.day_of(s) if d is None else d for d, s in zip(days, seconds)]
        return days

    def _exact(self, seconds: int) -> int:
        return datetime.fromtimestamp(seconds, self.tz).toordinal()


def check_call(call_id: str, group: str, destination: str, amount: str,
               started_s: int | None) -> str | tuple[int, int]:
    """The reason a call is malformed, or its amount as (units, nanos).

    Reseller-dependent checks (known reseller, currency) come later, under the reseller's lock.
    """
    if not call_id:
        return "empty call_id"
    if len(call_id) > MAX_ID:
        return f"call_id longer than {MAX_ID} characters"
    if not (call_id.isprintable() and group.isprintable() and destination.isprintable()):
        return "control characters in call_id, destination or destination_group"
    if started_s is None:
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


class Screened(NamedTuple):
    """A batch whose every call passes check_call, column-wise, amounts parsed."""

    call_ids: tuple[str, ...]
    reseller_ids: tuple[str, ...]
    started_s: tuple[int, ...]
    started_ns: list[int]
    billed_seconds: tuple[int, ...]
    destinations: tuple[str, ...]
    groups: tuple[str, ...]
    amount_units: list[int]
    amount_nanos: list[int]
    currencies: tuple[str, ...]


class IncomingCalls(Sequence):
    """One batch of calls as received, held column-wise: columns[i] holds CallInput field i of
    every call. Iterating yields one tuple per call, in CallInput's field order.

    screened() runs check_call on every call at once, a whole column at a time in C loops (the
    ingest hot path: no Python code per call), once.
    """

    __slots__ = ("columns", "_count", "_screened")

    def __init__(self, columns: Sequence[Sequence], count: int):
        self.columns = tuple(columns) if count else ((),) * len(CallInput._fields)
        self._count = count
        self._screened: Screened | None | bool = False  # False: not screened yet

    @classmethod
    def of(cls, calls: Iterable[tuple]) -> "IncomingCalls":
        """From one tuple per call in CallInput's field order."""
        if isinstance(calls, IncomingCalls):
            return calls
        rows = list(calls)
        return cls(zip(*rows), len(rows))

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[tuple]:
        return zip(*self.columns)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(self)[index]
        return CallInput(*(c[index] for c in self.columns))

    def screened(self) -> Screened | None:
        """The batch column-wise if check_call passes every call, else None (then check_call, call
        by call, finds the calls that fail and their reasons)."""
        if self._screened is False:
            self._screened = _screen(self.columns) if self._count else None
        return self._screened


def _screen(columns) -> Screened | None:
    call_ids, reseller_ids, started_s, started_nanos, billed, destinations, groups, amounts, currencies = columns
    if not (min(map(len, call_ids)) > 0 and max(map(len, call_ids)) <= MAX_ID
            and "".join(call_ids).isprintable() and "".join(groups).isprintable()
            and "".join(destinations).isprintable()
            and None not in started_s and MIN_STARTED_S <= min(started_s) and max(started_s) < MAX_STARTED_S
            and min(map(len, groups)) > 0 and max(map(len, groups)) <= MAX_GROUP_CHARS
            and max(map(len, destinations)) <= MAX_DESTINATION_CHARS):
        return None
    parsed = parse_call_amounts(amounts)
    if parsed is None:
        return None
    started_ns = list(map(add, map(mul, started_s, repeat(1_000_000_000)), started_nanos))
    return Screened(call_ids, reseller_ids, started_s, started_ns, billed, destinations, groups, *parsed, currencies)
