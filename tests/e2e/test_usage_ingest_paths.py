"""RecordCalls through both ingest paths (SPEC §4): a batch of only acceptable calls is built
column-wise and, on PostgreSQL, COPYed and rolled up in SQL; any other batch goes call by call.
Counts and rollups must be the same either way."""
import pytest

from billing.v1 import usage_pb2
from helpers import Stubs, call, create, period, reseller, send


@pytest.fixture
def stubs(channel):
    s = Stubs(channel)
    s.resellers.UpsertReseller(reseller())
    s.resellers.UpsertReseller(reseller("r2", time_zone="Asia/Kolkata"))
    return s


def unbilled(stubs, reseller_id="r1", start="2026-03-01", end="2026-03-31"):
    groups = stubs.usage.GetUsageSummary(usage_pb2.GetUsageSummaryRequest(
        reseller_id=reseller_id, period=period(start, end))).groups
    return {g.destination_group: (g.unbilled.calls, g.unbilled.billed_seconds, g.unbilled.amount) for g in groups}


def counts(result):
    return result.accepted, result.duplicates, result.late, [(r.index, r.call_id) for r in result.rejected]


def test_a_clean_batch_then_its_resend_mixed_with_new_and_changed_calls(stubs):
    first = [call(f"c{i}", amount=f"0.{i:04d}", seconds=i + 1, group=f"G{i % 3}") for i in range(30)]
    assert counts(send(stubs, first)) == (30, 0, 0, [])
    before = unbilled(stubs)
    again = first[:10] + [call("c10", amount="9.99")] + [call(f"n{i}", group="G0") for i in range(5)]
    assert counts(send(stubs, again)) == (5, 10, 0, [(10, "c10")])
    after = unbilled(stubs)
    calls0, seconds0, _ = before["G0"]
    assert after["G0"][:2] == (calls0 + 5, seconds0 + 5 * 60)  # only the 5 new calls rolled up
    assert (after["G1"], after["G2"]) == (before["G1"], before["G2"])
    assert counts(send(stubs, first)) == (0, 30, 0, [])  # a whole resend: nothing rolled up
    assert unbilled(stubs) == after


def test_the_first_of_two_copies_in_one_batch_is_stored(stubs):
    result = send(stubs, [call("a", amount="1.00"), call("b"), call("a", amount="2.00"), call("a", amount="1.00")])
    assert counts(result) == (2, 1, 0, [(2, "a")])
    assert unbilled(stubs)["Germany Mobile"] == (2, 120, "1.01")  # 1.00 + 0.0125


def test_a_batch_for_two_resellers_in_two_zones(stubs):
    # 20:00 UTC on 31 March is 1 April 01:30 in Kolkata and still 31 March (22:00) in Berlin.
    late_evening = "2026-03-31T20:00:00Z"
    batch = [call("x1", started=late_evening), call("x2", reseller_id="r2", started=late_evening, currency="EUR"),
             call("x3", reseller_id="r2")]
    assert counts(send(stubs, batch)) == (3, 0, 0, [])
    assert unbilled(stubs)["Germany Mobile"][0] == 1
    assert unbilled(stubs, "r2")["Germany Mobile"][0] == 1
    assert unbilled(stubs, "r2", "2026-04-01", "2026-04-01")["Germany Mobile"][0] == 1


def test_late_calls_in_a_clean_batch_are_counted_and_rolled_up_late(stubs):
    send(stubs, [call("before")])
    create(stubs, "2026-03-01", "2026-03-31")
    batch = [call(f"late{i}") for i in range(20)] + [call("april", started="2026-04-02T10:00:00Z")]
    assert counts(send(stubs, batch)) == (21, 0, 20, [])
    group = stubs.usage.GetUsageSummary(usage_pb2.GetUsageSummaryRequest(
        reseller_id="r1", period=period("2026-03-01", "2026-03-31"))).groups[0]
    assert (group.billed.calls, group.late.calls, group.unbilled.calls) == (1, 20, 0)
    assert counts(send(stubs, batch)) == (0, 21, 0, [])  # resent late calls are duplicates, not late again


def test_one_bad_call_sends_the_batch_down_the_per_call_path_with_the_same_outcome(stubs):
    good = [call(f"g{i}") for i in range(50)]
    result = send(stubs, good[:25] + [call("bad", currency="USD")] + good[25:])
    assert counts(result) == (50, 0, 0, [(25, "bad")])
    assert unbilled(stubs)["Germany Mobile"] == (50, 3000, "0.63")  # 50 × 0.0125 = 0.625
