"""UsageService.RecordCalls / GetUsageSummary through a real server and channel (SPEC §4)."""
import threading

import grpc
import pytest

from billing.v1 import reseller_pb2, usage_pb2
from helpers import Stubs, call, period, reseller, send, wait_until


@pytest.fixture
def stubs(channel):
    s = Stubs(channel)
    s.resellers.UpsertReseller(reseller())
    return s


def summary(stubs, start="2026-03-01", end="2026-03-31", reseller_id="r1"):
    return stubs.usage.GetUsageSummary(usage_pb2.GetUsageSummaryRequest(reseller_id=reseller_id,
                                                                        period=period(start, end)))


def test_valid_calls_are_accepted_and_summed_per_destination_group(stubs):
    result = send(stubs, [call("a", amount="0.0125"), call("b", amount="0.0130", group="Germany Fixed"),
                          call("c", amount="1.005", seconds=120)])
    assert (result.accepted, result.duplicates, result.late, list(result.rejected)) == (3, 0, 0, [])
    groups = {g.destination_group: g.unbilled for g in summary(stubs).groups}
    assert groups["Germany Mobile"].calls == 2 and groups["Germany Mobile"].billed_seconds == 180
    assert groups["Germany Mobile"].amount == "1.02"  # 1.0175 rounded half-up to cents
    assert groups["Germany Fixed"].amount == "0.01"


def test_resent_call_is_a_duplicate_and_changed_content_is_rejected(stubs):
    send(stubs, [call("a"), call("b")])
    result = send(stubs, [call("a"), call("b", amount="9.99")])
    assert (result.accepted, result.duplicates) == (0, 1)
    assert [(r.index, r.call_id) for r in result.rejected] == [(1, "b")]
    assert "different content" in result.rejected[0].reason
    assert summary(stubs).groups[0].unbilled.amount == "0.03"  # 2 × 0.0125, never merged


def test_same_call_twice_in_one_batch_counts_once(stubs):
    result = send(stubs, [call("a"), call("a")])
    assert (result.accepted, result.duplicates, len(result.rejected)) == (1, 1, 0)


@pytest.mark.parametrize("field,value,reason", [
    ("reseller_id", "nobody", "unknown reseller"),
    ("currency", "USD", "currency"),
    ("amount", "-1", "malformed amount"),
    ("amount", "abc", "malformed amount"),
    ("amount", "1e5", "malformed amount"),
    ("amount", "NaN", "malformed amount"),
    ("amount", "Infinity", "malformed amount"),
    ("amount", "1.1234567891", "malformed amount"),
    ("amount", "1234567890123", "malformed amount"),
    ("amount", "", "malformed amount"),
    ("call_id", "", "empty call_id"),
    ("destination_group", "", "empty destination_group"),
])
def test_bad_call_is_rejected_with_a_reason_and_the_rest_is_kept(stubs, field, value, reason):
    bad = call("bad")
    setattr(bad, field, value)
    result = send(stubs, [call("ok1"), bad, call("ok2")])
    assert result.accepted == 2
    assert [(r.index, r.call_id) for r in result.rejected] == [(1, bad.call_id)]
    assert reason in result.rejected[0].reason


def test_missing_started_at_is_rejected(stubs):
    result = send(stubs, [call("x", started=None)])
    assert result.accepted == 0 and result.rejected[0].reason == "missing started_at"


def test_rejection_index_counts_across_batches(stubs):
    result = send(stubs, [call("a"), call("b")], [call("c"), call("d", amount="x")])
    assert [r.index for r in result.rejected] == [3]
    assert result.accepted + result.duplicates + len(result.rejected) == 4


def test_ten_thousand_call_batch_is_stored_whole(stubs):
    batch = [call(f"c{i}", amount="0.001") for i in range(10_000)]
    result = send(stubs, batch)
    assert result.accepted == 10_000
    assert summary(stubs).groups[0].unbilled.calls == 10_000
    assert summary(stubs).groups[0].unbilled.amount == "10.00"


def test_batch_over_the_limit_is_rejected_call_by_call(stubs):
    result = send(stubs, [call(f"c{i}") for i in range(10_001)], [call("after")])
    assert result.accepted == 1 and len(result.rejected) == 10_001
    assert "at most 10000" in result.rejected[0].reason


def test_empty_stream_and_empty_batch_count_nothing(stubs):
    assert stubs.usage.RecordCalls(iter([])).accepted == 0
    assert send(stubs, []).accepted == 0


def test_a_batch_that_fails_midway_leaves_nothing_and_the_retry_stores_it(stubs, server, monkeypatch):
    ledger = server.use_cases.ingest.ledger
    original = ledger._settle

    def crash_after_insert(*args):
        raise RuntimeError("simulated crash between the call insert and the rollup")
    monkeypatch.setattr(ledger, "_settle", crash_after_insert)
    batch = [call(f"c{i}") for i in range(100)]
    with pytest.raises(grpc.RpcError) as err:
        send(stubs, batch)
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert summary(stubs).groups == []  # no call of the batch was kept
    monkeypatch.setattr(ledger, "_settle", original)
    assert send(stubs, batch).accepted == 100


def test_a_batch_stored_before_a_lost_response_comes_back_as_duplicates(stubs, server, monkeypatch):
    ledger = server.use_cases.ingest.ledger
    original = ledger.record

    def stored_then_crash(calls, base=0):
        original(calls, base)
        raise RuntimeError("connection lost after commit")
    monkeypatch.setattr(ledger, "record", stored_then_crash)
    batch = [call(f"c{i}") for i in range(50)]
    with pytest.raises(grpc.RpcError):
        send(stubs, batch)
    monkeypatch.setattr(ledger, "record", original)
    result = send(stubs, batch)
    assert (result.accepted, result.duplicates) == (0, 50)
    assert summary(stubs).groups[0].unbilled.calls == 50


def test_summary_splits_by_local_day_of_the_resellers_zone(stubs):
    # 23:30 UTC on 31 March is 1 April in Berlin (CEST, UTC+2): outside March.
    send(stubs, [call("late-utc", started="2026-03-31T23:30:00Z"), call("in", started="2026-03-31T21:59:59Z")])
    assert summary(stubs).groups[0].unbilled.calls == 1
    assert summary(stubs, "2026-04-01", "2026-04-01").groups[0].unbilled.calls == 1


def test_summary_of_unknown_reseller_is_not_found(stubs):
    with pytest.raises(grpc.RpcError) as err:
        summary(stubs, reseller_id="ghost")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_batches_of_one_stream_are_stored_in_stream_order(stubs):
    """The first of two conflicting copies in a stream is stored; the later one is rejected."""
    batches = [[call(f"b{b}-{i}") for i in range(200)] + [call("x", amount=f"{b}.00")] for b in range(20)]
    result = send(stubs, *batches)
    assert result.accepted == 20 * 200 + 1
    assert [r.index for r in result.rejected] == [b * 201 + 200 for b in range(1, 20)]
    summary_amount = stubs.usage.GetUsageSummary(usage_pb2.GetUsageSummaryRequest(
        reseller_id="r1", period=period("2026-03-01", "2026-03-31"))).groups[0].unbilled.amount
    assert summary_amount == "50.00"  # 4000 × 0.0125 + the first x (0.00)


def test_a_stream_never_stores_two_batches_at_once(stubs, server, monkeypatch):
    ledger, original = server.use_cases.ingest.ledger, server.use_cases.ingest.ledger.record
    lock, running, seen = threading.Lock(), [0], []
    later_batch_started, all_sent = threading.Event(), threading.Event()

    def tracked(calls, base=0):
        with lock:
            running[0] += 1
            seen.append(running[0])
        if base:
            later_batch_started.set()
        else:  # hold the first batch until the server has the later ones: one started now would overlap it
            wait_until(lambda: all_sent.is_set() or later_batch_started.is_set(), 30, "the server to get every batch")
        try:
            return original(calls, base)
        finally:
            with lock:
                running[0] -= 1
    monkeypatch.setattr(ledger, "record", tracked)

    def batches():
        yield from (usage_pb2.CallBatch(calls=[call(c)]) for c in "abc")
        # gRPC asked for more: it has taken every batch. An RPC on the same connection answered after
        # that means the server has them too.
        stubs.resellers.GetReseller(reseller_pb2.GetResellerRequest(reseller_id="r1"), timeout=30)
        all_sent.set()
    assert stubs.usage.RecordCalls(batches(), timeout=60).accepted == 3
    assert max(seen) == 1
