"""NumberingService and the numbers invoices receive (SPEC §6)."""
from datetime import datetime
from zoneinfo import ZoneInfo

import grpc
import pytest

from billing.v1 import numbering_pb2
from helpers import Stubs, bad_request_fields, create, reseller


@pytest.fixture
def stubs(channel):
    s = Stubs(channel)
    s.resellers.UpsertReseller(reseller())
    return s


def update(stubs, pattern="", start=0):
    return stubs.numbering.UpdateNumbering(numbering_pb2.UpdateNumberingRequest(pattern=pattern, start=start))


def test_default_is_plain_counter_from_one(stubs):
    n = stubs.numbering.GetNumbering(numbering_pb2.GetNumberingRequest())
    assert (n.pattern, n.next_number) == ("%num%", 1)
    assert create(stubs, "2026-01-01", "2026-01-31").number == "1"


def test_pattern_and_start_from_the_spec_example(stubs):
    updated = update(stubs, "%num%/%year%", 100001)
    assert (updated.next_number, updated.position > 0) == (100001, True)
    year = datetime.now(ZoneInfo("Europe/Berlin")).year
    assert create(stubs, "2026-01-01", "2026-01-31").number == f"100001/{year}"
    assert create(stubs, "2026-02-01", "2026-02-28").number == f"100002/{year}"
    assert stubs.numbering.GetNumbering(numbering_pb2.GetNumberingRequest()).next_number == 100003


@pytest.mark.parametrize("pattern", ["INV-%year%", "%num%%num%", "%num%-%foo%"])
def test_pattern_without_exactly_one_num_is_invalid(stubs, pattern):
    with pytest.raises(grpc.RpcError) as err:
        update(stubs, pattern)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and bad_request_fields(err.value) == ["pattern"]


def test_start_below_the_next_number_is_refused(stubs):
    update(stubs, start=10)
    with pytest.raises(grpc.RpcError) as err:
        update(stubs, start=9)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_issue_date_placeholders_use_the_resellers_zone(stubs):
    stubs.resellers.UpsertReseller(reseller("far", time_zone="Pacific/Kiritimati"))  # UTC+14
    update(stubs, "%year%%mon%%mday%-%num%")
    before = datetime.now(ZoneInfo("Pacific/Kiritimati")).strftime("%Y%m%d")
    number = create(stubs, "2026-01-01", "2026-01-31", reseller_id="far").number
    after = datetime.now(ZoneInfo("Pacific/Kiritimati")).strftime("%Y%m%d")
    assert number in {f"{before}-1", f"{after}-1"}  # both equal unless local midnight passed meanwhile
