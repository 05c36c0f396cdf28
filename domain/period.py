"""Billing periods: whole local days in the reseller's zone, end date inclusive (DST-safe)."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from domain.errors import InvalidArgument

MAX_PERIOD_DAYS = 366 * 5


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @classmethod
    def of(cls, start: date, end: date, field: str = "period") -> "Period":
        if end < start:
            raise InvalidArgument(f"{field}.end_date", "end_date is before start_date")
        if (end - start).days >= MAX_PERIOD_DAYS:
            raise InvalidArgument(f"{field}.end_date", f"a period spans at most {MAX_PERIOD_DAYS} days")
        return cls(start, end)

    def utc_bounds(self, zone: str) -> tuple[datetime, datetime]:
        """[start, end) as UTC instants: local midnight of start, local midnight after end."""
        tz = ZoneInfo(zone)
        lo = datetime.combine(self.start, time(0), tzinfo=tz)
        hi = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=tz)
        return lo.astimezone(timezone.utc), hi.astimezone(timezone.utc)

    def overlaps(self, other: "Period") -> bool:
        return self.start <= other.end and other.start <= self.end

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_dict(cls, d: dict) -> "Period":
        return cls(date.fromisoformat(d["start"]), date.fromisoformat(d["end"]))
