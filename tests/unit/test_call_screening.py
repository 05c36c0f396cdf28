"""The ingest fast path decides exactly as the per-call rules (no I/O).

IncomingCalls.screened(), parse_call_amounts and LocalDays.days_of work a whole batch at a time
in C loops; each must agree with check_call, parse_call_amount and LocalDays.day_of, call by call.
"""
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.v1 import usage_pb2
from domain.calls import MAX_STARTED_S, CallInput, IncomingCalls, LocalDays, check_call
from domain.money import parse_call_amount, parse_call_amounts
from service.grpc.converters import calls_from_proto

MARCH = int(datetime(2026, 3, 10, tzinfo=timezone.utc).timestamp())

# A few values per field that pass, and a few that fail each rule of check_call.
IDS = st.sampled_from(["a", "c-1", "x" * 128, "ü", "", "x" * 129, "a\x00b", "tab\tid", "\u2028"])
GROUPS = st.sampled_from(["Germany Mobile", "g" * 128, "", "g" * 129, "bad\ngroup", "Zürich"])
DESTINATIONS = st.sampled_from(["4915112345678", "", "+" + "9" * 63, "9" * 65, "49\x7f1"])
STARTS = st.sampled_from([MARCH, 0, 1, MAX_STARTED_S - 1, MAX_STARTED_S, -1, None])
AMOUNTS = st.sampled_from(["0.0125", "7", "999999999999.999999999", "0", "1\n", "1.5\n", "1\n2", "", "-1",
                           "1e5", ".5", "1.", "1.0000000001", "1234567890123", "١", "NaN", " 1"])


@st.composite
def calls(draw):
    return (draw(IDS), "r1", draw(STARTS), draw(st.integers(0, 999_999_999)), draw(st.integers(0, 2**32 - 1)),
            draw(DESTINATIONS), draw(GROUPS), draw(AMOUNTS), "EUR")


@settings(max_examples=400, deadline=None)
@given(st.lists(calls(), min_size=1, max_size=6))
def test_screening_a_batch_agrees_with_checking_each_call(batch):
    screened = IncomingCalls.of(batch).screened()
    checked = [check_call(c.call_id, c.destination_group, c.destination, c.amount, c.started_s)
               for c in map(CallInput._make, batch)]
    if any(isinstance(c, str) for c in checked):
        assert screened is None
        return
    assert screened is not None
    assert list(zip(screened.amount_units, screened.amount_nanos)) == checked
    assert screened.started_ns == [c[2] * 1_000_000_000 + c[3] for c in batch]
    assert screened.call_ids == tuple(c[0] for c in batch)


@settings(max_examples=300, deadline=None)
@given(st.lists(AMOUNTS, min_size=1, max_size=8))
def test_parsing_many_amounts_agrees_with_parsing_each(amounts):
    each = [parse_call_amount(a) for a in amounts]
    many = parse_call_amounts(amounts)
    if None in each:
        assert many is None
    else:
        assert many is not None and list(zip(*many)) == each


@pytest.mark.parametrize("text", ["1\n", "1.5\n", "\n1", "1\n\n"])
def test_an_amount_with_a_newline_is_malformed(text):
    assert parse_call_amount(text) is None
    assert parse_call_amounts([text]) is None
    assert parse_call_amounts(["1", text]) is None


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns",
                                  "Europe/Amsterdam", "Pacific/Chatham", "UTC"])
@settings(max_examples=30, deadline=None)
@given(seconds=st.lists(st.integers(0, MAX_STARTED_S - 1) | st.integers(MARCH - 86_400 * 40, MARCH + 86_400 * 40),
                        min_size=1, max_size=50))
def test_local_days_of_many_calls_agree_with_one_by_one(zone, seconds):
    many = LocalDays(zone).days_of(seconds)
    one = LocalDays(zone)
    assert many == [one.day_of(s) for s in seconds]
    assert many == [datetime.fromtimestamp(s, one.tz).toordinal() for s in seconds]


def test_local_days_of_a_bucket_straddling_local_midnight():
    # Amsterdam kept +00:19:32 until 1937: its 15-minute buckets straddle local midnight.
    zone = LocalDays("Europe/Amsterdam")
    midnight = int(datetime(1930, 5, 1, 23, 40, 28, tzinfo=timezone.utc).timestamp())  # 2 May, 00:00:00 local
    assert midnight % 900  # inside a bucket, not at its edge
    seconds = list(range(midnight - 600, midnight + 600, 7))
    days = zone.days_of(seconds)
    assert days == [datetime.fromtimestamp(s, zone.tz).toordinal() for s in seconds]
    assert len(set(days)) == 2 and midnight // 900 not in zone._cache  # the straddling bucket is never cached


def test_calls_from_proto_tells_a_missing_started_at_from_the_epoch():
    batch = usage_pb2.CallBatch()
    batch.calls.add(call_id="missing", reseller_id="r1", amount="1", currency="EUR", destination_group="g")
    epoch = batch.calls.add(call_id="epoch", reseller_id="r1", amount="1", currency="EUR", destination_group="g")
    epoch.started_at.seconds = 0
    epoch.started_at.nanos = 0
    batch.calls[1].started_at.SetInParent()
    later = batch.calls.add(call_id="later", reseller_id="r1", amount="1", currency="EUR", destination_group="g")
    later.started_at.seconds = MARCH
    calls = calls_from_proto(usage_pb2.CallBatch.FromString(batch.SerializeToString()).calls)
    assert [CallInput(*c).started_s for c in calls] == [None, 0, MARCH]
    assert calls[0].call_id == "missing"
    assert calls.screened() is None  # the missing one fails
    assert calls_from_proto(batch.calls[1:]).screened() is not None


def test_an_empty_batch_screens_to_nothing():
    assert len(calls_from_proto(usage_pb2.CallBatch().calls)) == 0
    assert IncomingCalls.of([]).screened() is None
