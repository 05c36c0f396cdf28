"""One rated call's rules (check_call), its local day (LocalDays) and batch outcomes (domain/calls.py)."""
from datetime import date, datetime, timezone

import pytest

from domain.calls import MAX_STARTED_S, BatchResult, LocalDays, check_call

OK = dict(call_id="c1", group="Germany Mobile", destination="4915112345678", amount="0.0125",
          started_s=1_773_136_800)


def check(**changes):
    return check_call(**{**OK, **changes})


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


# ---- check_call ------------------------------------------------------------------------------
@pytest.mark.parametrize("amount,parsed", [
    ("0.0125", (0, 12_500_000)), ("1", (1, 0)), ("12.5", (12, 500_000_000)), ("0.000000001", (0, 1)),
    ("000.10", (0, 100_000_000)), ("999999999999.999999999", (999_999_999_999, 999_999_999)),
])
def test_a_valid_call_comes_back_as_its_amount_in_units_and_nanos(amount, parsed):
    assert check(amount=amount) == parsed


@pytest.mark.parametrize("changes,reason", [
    ({"call_id": ""}, "empty call_id"),
    ({"call_id": "c" * 129}, "call_id longer than 128 characters"),
    ({"call_id": "c\x00"}, "control characters in call_id, destination or destination_group"),
    ({"group": "DE\tMobile"}, "control characters in call_id, destination or destination_group"),
    ({"destination": "49\n151"}, "control characters in call_id, destination or destination_group"),
    ({"destination": "49\x7f"}, "control characters in call_id, destination or destination_group"),
    ({"started_s": None}, "missing started_at"),
    ({"started_s": -1}, "started_at outside 1970-01-01..2199-12-31"),
    ({"started_s": MAX_STARTED_S}, "started_at outside 1970-01-01..2199-12-31"),
    ({"group": ""}, "empty destination_group"),
    ({"group": "g" * 129}, "destination_group longer than 128 characters"),
    ({"destination": "4" * 65}, "destination longer than 64 characters"),
])
def test_each_malformed_field_has_its_own_reason(changes, reason):
    assert check(**changes) == reason


@pytest.mark.parametrize("amount", ["", "-1", "1e5", "NaN", ".5", "1.", "1,5", " 1", "1 ", "+1", "0x10",
                                    "1.0000000001", "1234567890123", "١٢"])
def test_an_amount_that_is_not_a_plain_decimal_is_malformed(amount):
    assert check(amount=amount) == "malformed amount (want a decimal string like 0.0125)"


def test_limits_themselves_are_accepted():
    assert check(call_id="c" * 128, group="g" * 128, destination="4" * 64, started_s=0) == (0, 12_500_000)
    assert check(started_s=MAX_STARTED_S - 1) == (0, 12_500_000)


def test_empty_destination_is_allowed_and_unicode_text_is_printable():
    assert check(destination="", group="Zürich Festnetz", call_id="anruf-ß") == (0, 12_500_000)


def test_the_first_problem_is_the_one_reported():
    assert check(call_id="", started_s=None, amount="x") == "empty call_id"
    assert check(started_s=None, amount="x") == "missing started_at"
    assert check(group="", amount="x") == "empty destination_group"


def test_a_call_without_started_at_is_refused_and_the_epoch_itself_is_a_start():
    assert check(started_s=None) == "missing started_at"
    assert check(started_s=0) == (0, 12_500_000)


# ---- LocalDays -------------------------------------------------------------------------------
@pytest.mark.parametrize("utc_text,local", [
    ("2026-10-24T21:59:59", date(2026, 10, 24)),  # CEST (+2): 23:59:59
    ("2026-10-24T22:00:00", date(2026, 10, 25)),  # the 25-hour day starts
    ("2026-10-25T00:30:00", date(2026, 10, 25)),  # 02:30 CEST, first pass
    ("2026-10-25T01:30:00", date(2026, 10, 25)),  # 02:30 CET, second pass
    ("2026-10-25T22:59:59", date(2026, 10, 25)),  # CET (+1): 23:59:59
    ("2026-10-25T23:00:00", date(2026, 10, 26)),
])
def test_the_25_hour_autumn_day_is_one_local_day(utc_text, local):
    assert LocalDays("Europe/Berlin").day_of(utc(utc_text)) == local.toordinal()


def test_every_second_of_a_dst_day_maps_to_that_day_through_the_cache():
    days = LocalDays("Europe/Berlin")
    start, end = utc("2026-03-28T23:00:00"), utc("2026-03-29T22:00:00")  # the 23-hour spring day
    seen = {days.day_of(s) for s in range(start - 1, end + 1, 299)} | {days.day_of(end - 1), days.day_of(end)}
    assert seen == {date(2026, 3, 28).toordinal(), date(2026, 3, 29).toordinal(), date(2026, 3, 30).toordinal()}
    assert days.day_of(start) == days.day_of(end - 1) == date(2026, 3, 29).toordinal()


def test_kathmandu_midnight_is_a_bucket_boundary_so_both_sides_are_cached_correctly():
    days = LocalDays("Asia/Kathmandu")  # +05:45: local midnight is 18:15 UTC
    before, after = utc("2026-03-01T18:14:59"), utc("2026-03-01T18:15:00")
    assert days.day_of(after) == date(2026, 3, 2).toordinal()  # caches the bucket from 18:15
    assert days.day_of(before) == date(2026, 3, 1).toordinal()  # caches the bucket up to 18:15
    assert days.day_of(utc("2026-03-01T18:00:00")) == date(2026, 3, 1).toordinal()
    assert days.day_of(utc("2026-03-01T18:29:59")) == date(2026, 3, 2).toordinal()


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_a_bucket_that_straddles_local_midnight_is_never_cached(order):
    # Monrovia kept -00:44:30 until 1972: local midnight fell at 00:44:30 UTC, mid-bucket.
    days = LocalDays("Africa/Monrovia")
    seconds = [utc("1971-06-01T00:44:29"), utc("1971-06-01T00:44:30")]
    expected = [date(1971, 5, 31).toordinal(), date(1971, 6, 1).toordinal()]
    for i in order + order:  # twice: the second pass would read a wrongly cached bucket
        assert days.day_of(seconds[i]) == expected[i]


def test_a_half_hour_dst_shift_keeps_days_whole():
    days = LocalDays("Australia/Lord_Howe")  # +10:30 standard, +11 summer
    assert days.day_of(utc("2026-06-30T13:29:59")) == date(2026, 6, 30).toordinal()
    assert days.day_of(utc("2026-06-30T13:30:00")) == date(2026, 7, 1).toordinal()
    assert days.day_of(utc("2026-01-31T12:59:59")) == date(2026, 1, 31).toordinal()
    assert days.day_of(utc("2026-01-31T13:00:00")) == date(2026, 2, 1).toordinal()


# ---- BatchResult -----------------------------------------------------------------------------
def test_adding_batch_results_sums_counts_and_keeps_rejections_in_order():
    total = BatchResult()
    total.add(BatchResult(accepted=3, duplicates=1, late=1, rejected=[(2, "b", "empty destination_group")]))
    total.add(BatchResult(accepted=2, rejected=[(5, "e", "missing started_at"), (7, "g", "x")]))
    assert (total.accepted, total.duplicates, total.late) == (5, 1, 1)
    assert total.rejected == [(2, "b", "empty destination_group"), (5, "e", "missing started_at"), (7, "g", "x")]


def test_a_fresh_batch_result_is_empty_and_not_shared():
    a, b = BatchResult(), BatchResult()
    a.rejected.append((0, "x", "y"))
    assert b == BatchResult(0, 0, 0, [])
