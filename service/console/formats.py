"""How values look on the pages (Jinja filters) and how typed form values become request fields."""
from datetime import date, datetime, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

from google.type import date_pb2


class FormError(Exception):
    """A typed value the console can already tell is wrong; `field` names the input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def iso_date(value) -> str:
    """google.type.Date (or None/unset) → 'YYYY-MM-DD' or ''."""
    if value is None or not getattr(value, "year", 0):
        return ""
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def timestamp(value, zone: str = "") -> str:
    """google.protobuf.Timestamp → 'YYYY-MM-DD HH:MM:SS' in `zone` (default UTC, marked 'UTC')."""
    if value is None or not (value.seconds or value.nanos):
        return ""
    moment = value.ToDatetime(tzinfo=timezone.utc)
    if zone and zone != "UTC":
        try:
            return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")
        except (KeyError, ValueError):
            pass
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def ts_date(value, zone: str = "") -> str:
    """The date part of a Timestamp, in `zone` when given (as printed on the invoice)."""
    if value is None or not (value.seconds or value.nanos):
        return ""
    moment = value.ToDatetime(tzinfo=timezone.utc)
    try:
        moment = moment.astimezone(ZoneInfo(zone)) if zone else moment
    except (KeyError, ValueError):
        pass
    return moment.date().isoformat()


def enum_label(message, field: str) -> str:
    """The enum value of `message.field` in words: INVOICE_STATUS_VOID → 'Void'."""
    fd = message.DESCRIPTOR.fields_by_name.get(field)
    if fd is None or fd.enum_type is None:
        return ""
    number = getattr(message, field)
    value = fd.enum_type.values_by_number.get(number)
    if value is None or number == 0:
        return ""
    prefix = fd.enum_type.values_by_number[0].name.removesuffix("UNSPECIFIED")
    return value.name.removeprefix(prefix).replace("_", " ").capitalize()


def minutes(seconds: int) -> str:
    return f"{seconds / 60:.2f}"


def parse_date(text: str, field: str) -> date_pb2.Date:
    try:
        d = date.fromisoformat((text or "").strip())
    except ValueError:
        raise FormError(field, "enter a date as YYYY-MM-DD") from None
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


def lines_of(text: str) -> list[str]:
    """A textarea's non-empty lines (address lines), stripped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def today_in(zone: str) -> date:
    try:
        return datetime.now(ZoneInfo(zone or "UTC")).date()
    except (KeyError, ValueError):
        return datetime.now(timezone.utc).date()


def seg(value) -> str:
    """A value as one URL path segment."""
    return quote(str(value), safe="")


FILTERS = {"seg": seg, "iso_date": iso_date, "timestamp": timestamp, "ts_date": ts_date, "minutes": minutes}
GLOBALS = {"enum_label": enum_label}
