"""ResellerService through a real server (SPEC §3)."""
import grpc
import pytest

from billing.v1 import reseller_pb2
from helpers import Stubs, bad_request_fields, call, reseller, send


@pytest.fixture
def stubs(channel):
    return Stubs(channel)


def test_upsert_then_get_returns_the_stored_reseller_with_its_position(stubs):
    created = stubs.resellers.UpsertReseller(reseller(address_lines=["Bahnhofstr. 1", "8001 Zürich"]))
    got = stubs.resellers.GetReseller(reseller_pb2.GetResellerRequest(reseller_id="r1"))
    assert got == created and created.position >= 1
    assert list(got.address_lines) == ["Bahnhofstr. 1", "8001 Zürich"]


def test_a_change_is_a_new_event_and_an_identical_upsert_writes_nothing(stubs):
    first = stubs.resellers.UpsertReseller(reseller())
    same = stubs.resellers.UpsertReseller(reseller())
    renamed = stubs.resellers.UpsertReseller(reseller(name="Zürich Telecom AG"))
    assert same.position == first.position < renamed.position


@pytest.mark.parametrize("field,value", [
    ("currency", "EUX"), ("currency", ""), ("time_zone", "Mars/Olympus"), ("time_zone", "../etc/passwd"),
    ("tax_rate", "1"), ("tax_rate", "-0.1"), ("tax_rate", "abc"), ("tax_rate", "NaN"),
    ("name", ""), ("reseller_id", ""), ("name", "x" * 300),
])
def test_invalid_terms_are_invalid_argument_naming_the_field(stubs, field, value):
    with pytest.raises(grpc.RpcError) as err:
        stubs.resellers.UpsertReseller(reseller(**{field: value}))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(err.value) == [field]


def test_utc_and_zero_tax_are_valid(stubs):
    assert stubs.resellers.UpsertReseller(reseller(time_zone="UTC", tax_rate="0")).tax_rate == "0"


def test_currency_and_zone_are_fixed_once_the_reseller_has_calls(stubs):
    stubs.resellers.UpsertReseller(reseller())
    stubs.resellers.UpsertReseller(reseller(currency="CHF", time_zone="Europe/Zurich"))  # no calls yet: fine
    send(stubs, [call("a", currency="CHF")])
    for change in ({"currency": "EUR"}, {"time_zone": "Europe/Berlin"}):
        with pytest.raises(grpc.RpcError) as err:
            stubs.resellers.UpsertReseller(reseller(**{"currency": "CHF", "time_zone": "Europe/Zurich", **change}))
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert stubs.resellers.UpsertReseller(reseller(currency="CHF", time_zone="Europe/Zurich", name="New")).name == "New"


def test_unknown_reseller_is_not_found(stubs):
    with pytest.raises(grpc.RpcError) as err:
        stubs.resellers.GetReseller(reseller_pb2.GetResellerRequest(reseller_id="ghost"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_list_pages_through_every_reseller_in_id_order(stubs):
    for i in range(7):
        stubs.resellers.UpsertReseller(reseller(reseller_id=f"r{i}"))
    seen, token = [], ""
    while True:
        page = stubs.resellers.ListResellers(reseller_pb2.ListResellersRequest(page_size=3, page_token=token))
        seen += [r.reseller_id for r in page.resellers]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"r{i}" for i in range(7)]


def test_a_forged_page_token_is_invalid_argument(stubs):
    with pytest.raises(grpc.RpcError) as err:
        stubs.resellers.ListResellers(reseller_pb2.ListResellersRequest(page_token="not-a-token"))
    assert bad_request_fields(err.value) == ["page_token"]
