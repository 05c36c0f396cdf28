"""Reseller terms validation and the Reseller aggregate (domain/reseller.py, SPEC §3), without storage."""
import pytest

from domain.errors import InvalidArgument
from domain.reseller import Reseller, ResellerTerms, reseller_uuid, valid_time_zone
from domain.seller import SellerDetails
from domain.template_catalog import TemplateCatalog

GOOD = dict(reseller_id="r1", name="Zürich Telecom", currency="EUR", time_zone="Europe/Berlin", tax_rate="0.19")


def terms(**changes) -> ResellerTerms:
    return ResellerTerms.parse(**{**GOOD, **changes})


def refused_field(**changes) -> str:
    with pytest.raises(InvalidArgument) as error:
        terms(**changes)
    return error.value.field


def test_valid_terms_keep_every_field():
    t = terms(address_lines=["Bahnhofstr. 1", "8001 Zürich"], tax_id="CHE-123", email="a@b.ch")
    assert t == ResellerTerms("r1", "Zürich Telecom", "EUR", "Europe/Berlin", "0.19",
                              ("Bahnhofstr. 1", "8001 Zürich"), "CHE-123", "a@b.ch")


def test_terms_round_trip_through_their_stored_dict():
    t = terms(address_lines=["line 1", "line 2"], tax_id="DE1", email="x@y.de")
    stored = t.as_dict()
    assert stored["address_lines"] == ["line 1", "line 2"]
    assert ResellerTerms.from_dict(stored) == t


@pytest.mark.parametrize("currency", ["EUR", "JPY", "KWD", "CHF", "CLF"])
def test_iso_currencies_are_accepted(currency):
    assert terms(currency=currency).currency == currency


@pytest.mark.parametrize("currency", ["", "eur", "EURO", "EU", "XYZ", " EUR", "EUR\x00", "€"])
def test_unknown_currency_is_invalid(currency):
    assert refused_field(currency=currency) == "currency"


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "Asia/Kathmandu", "America/Argentina/Buenos_Aires",
                                  "Etc/GMT+5"])
def test_iana_zones_are_accepted(zone):
    assert terms(time_zone=zone).time_zone == zone


@pytest.mark.parametrize("zone", ["", "utc", "Mars/Olympus", "Europe/Berlin/", "/etc/passwd", "../../etc/passwd",
                                  "./UTC", "Europe/../UTC", "Europe/Berlin\x00", "zone.tab", "A" * 65])
def test_unknown_or_path_like_zone_is_invalid(zone):
    assert refused_field(time_zone=zone) == "time_zone"


@pytest.mark.parametrize("zone", ["Europe", "America/Argentina"])
def test_a_zone_directory_is_an_invalid_zone_not_a_crash(zone):
    assert not valid_time_zone(zone)
    assert refused_field(time_zone=zone) == "time_zone"


@pytest.mark.parametrize("rate,stored", [("0", "0"), ("0.19", "0.19"), ("0.190", "0.190"), ("00.07", "0.07"),
                                          ("0.999999999", "0.999999999")])
def test_rates_from_zero_to_below_one_are_accepted_as_plain_decimals(rate, stored):
    assert terms(tax_rate=rate).tax_rate == stored


@pytest.mark.parametrize("rate", ["1", "1.0", "1.5", "-0.01", "", "abc", "0,19", "1e-2", ".19", "0.19 ", "NaN",
                                  "Infinity", "19%"])
def test_rate_out_of_range_or_not_a_decimal_is_invalid(rate):
    assert refused_field(tax_rate=rate) == "tax_rate"


@pytest.mark.parametrize("rate", ["-0", "-0.00"])
def test_negative_zero_rate_is_stored_as_zero(rate):
    assert terms(tax_rate=rate).tax_rate in ("0", "0.00")
    assert not terms(tax_rate=rate).tax_rate.startswith("-")


@pytest.mark.parametrize("changes,field", [
    ({"reseller_id": ""}, "reseller_id"), ({"reseller_id": "   "}, "reseller_id"),
    ({"reseller_id": "r" * 129}, "reseller_id"), ({"reseller_id": "r\x001"}, "reseller_id"),
    ({"reseller_id": "r\n1"}, "reseller_id"),
    ({"name": ""}, "name"), ({"name": " "}, "name"), ({"name": "n" * 257}, "name"), ({"name": "a\tb"}, "name"),
    ({"address_lines": ["l"] * 11}, "address_lines"), ({"address_lines": ["ok", "x" * 257]}, "address_lines[1]"),
    ({"address_lines": ["a\nb"]}, "address_lines[0]"), ({"address_lines": ["ok", "ok", "\x1b[31m"]},
                                                       "address_lines[2]"),
    ({"tax_id": "t" * 65}, "tax_id"), ({"tax_id": "DE\x00"}, "tax_id"),
    ({"email": "e" * 257}, "email"), ({"email": "a@b\r"}, "email"),
])
def test_each_text_field_is_bounded_and_free_of_control_characters(changes, field):
    assert refused_field(**changes) == field


def test_limits_themselves_are_accepted():
    t = terms(reseller_id="r" * 128, name="n" * 256, address_lines=["a" * 256] * 10, tax_id="t" * 64,
              email="e" * 256)
    assert len(t.address_lines) == 10


def test_optional_fields_may_be_empty():
    t = terms(address_lines=[], tax_id="", email="")
    assert (t.address_lines, t.tax_id, t.email) == ((), "", "")


def test_reseller_id_names_the_aggregate():
    reseller = Reseller("r1", terms().as_dict())
    assert reseller.id == reseller_uuid("r1") == Reseller.create_id("r1") != reseller_uuid("r2")
    assert reseller.terms == terms()


def test_each_change_is_an_event_with_the_full_terms():
    reseller = Reseller("r1", terms().as_dict())
    reseller.change(terms(name="Renamed").as_dict())
    assert reseller.terms.name == "Renamed"
    events = reseller.collect_events()
    assert [type(e).__name__ for e in events] == ["Registered", "Changed"]
    assert events[1].terms["name"] == "Renamed" and events[1].terms["currency"] == "EUR"


@pytest.mark.parametrize("changes,differ", [
    ({"currency": "CHF"}, True), ({"time_zone": "UTC"}, True), ({"currency": "CHF", "time_zone": "UTC"}, True),
    ({"name": "Other"}, False), ({"tax_rate": "0.07"}, False), ({"address_lines": ["x"]}, False),
    ({"email": "x@y.z", "tax_id": "1"}, False), ({}, False),
])
def test_only_currency_and_zone_are_billing_terms(changes, differ):
    assert Reseller("r1", terms().as_dict()).billing_terms_differ(terms(**changes)) is differ


# ---- gaps left by test_template_catalog.py ---------------------------------------------------
def test_seller_details_round_trip_through_their_stored_dict():
    details = SellerDetails.parse(name="Op AG", address_lines=["A 1", "B 2"], tax_id="T", email="e@x",
                                  bank_details="IBAN X\nBIC Y")
    stored = details.as_dict()
    assert stored["address_lines"] == ["A 1", "B 2"] and SellerDetails.from_dict(stored) == details


def test_built_in_template_is_version_zero_without_a_logo():
    assert TemplateCatalog().entry(0) == {"name": "Built-in", "has_logo": False}
