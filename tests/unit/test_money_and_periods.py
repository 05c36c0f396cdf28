"""Money rounding and local-day periods (no I/O)."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from domain.calls import LocalDays
from domain.errors import InvalidArgument
from domain.invoice import UsageRow, compute_totals
from domain.money import format_money, parse_call_amount, round_money
from domain.period import Period


@pytest.mark.parametrize("amount,currency,expected", [
    ("1.005", "EUR", "1.01"), ("1.004999", "EUR", "1.00"), ("2.5", "JPY", "3"), ("1.2345", "KWD", "1.235"),
    ("0", "EUR", "0.00"), ("1234.5", "EUR", "1234.50"), ("7", "CLF", "7.0000"),
])
def test_money_rounds_half_up_to_the_minor_unit(amount, currency, expected):
    assert format_money(Decimal(amount), currency) == expected


@pytest.mark.parametrize("text,parsed", [
    ("0.0125", (0, 12_500_000)), ("999999999999.999999999", (999999999999, 999999999)), ("7", (7, 0)),
    ("1e5", None), ("-1", None), ("NaN", None), (".5", None), ("1.", None), ("", None), ("1.0000000001", None),
])
def test_call_amount_is_exact_units_and_nanos(text, parsed):
    assert parse_call_amount(text) == parsed


def test_totals_round_each_line_then_tax_the_subtotal():
    rows = [UsageRow("B", 1, 60, 0, 5_000_000), UsageRow("A", 2, 120, 10, 4_950_000)]
    t = compute_totals(rows, "EUR", "0.19")
    assert [line["amount"] for line in t.lines] == ["10.00", "0.01"]  # sorted by group, 10.00495 → 10.00
    assert (t.subtotal, t.tax, t.total) == ("10.01", "1.90", "11.91")


def test_period_end_before_start_is_invalid():
    with pytest.raises(InvalidArgument) as err:
        Period.of(date(2026, 3, 2), date(2026, 3, 1))
    assert err.value.field == "period.end_date"


def test_dst_days_are_still_whole_days():
    # Berlin springs forward on 29 March 2026: that local day has 23 hours.
    lo, hi = Period(date(2026, 3, 29), date(2026, 3, 29)).utc_bounds("Europe/Berlin")
    assert (hi - lo).total_seconds() == 23 * 3600
    lo, hi = Period(date(2026, 10, 25), date(2026, 10, 25)).utc_bounds("Europe/Berlin")
    assert (hi - lo).total_seconds() == 25 * 3600


@pytest.mark.parametrize("zone,utc,local", [
    ("Asia/Kathmandu", "2026-03-01T18:14:59", date(2026, 3, 1)),  # +05:45
    ("Asia/Kathmandu", "2026-03-01T18:15:00", date(2026, 3, 2)),
    ("Asia/Kolkata", "2026-03-01T18:29:59", date(2026, 3, 1)),  # +05:30
    ("Asia/Kolkata", "2026-03-01T18:30:00", date(2026, 3, 2)),
    ("Europe/Berlin", "2026-03-28T22:59:59", date(2026, 3, 28)),
    ("Europe/Berlin", "2026-03-28T23:00:00", date(2026, 3, 29)),
    ("Europe/Berlin", "2026-03-29T21:59:59", date(2026, 3, 29)),
    ("Europe/Berlin", "2026-03-29T22:00:00", date(2026, 3, 30)),
])
def test_local_day_of_a_call_follows_the_resellers_zone(zone, utc, local):
    seconds = int(datetime.fromisoformat(utc).replace(tzinfo=timezone.utc).timestamp())
    days = LocalDays(zone)
    assert days.day_of(seconds) == local.toordinal()
    assert days.day_of(seconds) == local.toordinal()  # and again from the cache
