"""Protobuf ↔ domain converters (service/grpc/converters.py): round trips and the field named on bad input."""
from datetime import date, datetime, timezone
from uuid import UUID

import pytest
from google.type import date_pb2

from billing.v1 import invoice_pb2, reseller_pb2, types_pb2, usage_pb2
from domain.calls import CallInput
from domain.errors import InvalidArgument
from domain.invoice import Invoice, InvoiceStatus, UsageRow, compute_totals
from domain.numbering import Numbering
from domain.period import Period
from domain.reseller import ResellerTerms
from service.grpc import converters as c

TERMS = ResellerTerms.parse(reseller_id="r1", name="Zürich Telecom", currency="EUR", time_zone="Europe/Berlin",
                            tax_rate="0.19", address_lines=["Bahnhofstr. 1", "8001 Zürich"], tax_id="CHE-1",
                            email="a@b.ch")


def pb_date(y, m, d) -> date_pb2.Date:
    return date_pb2.Date(year=y, month=m, day=d)


def request_with(start: date_pb2.Date, end: date_pb2.Date) -> invoice_pb2.CalculateInvoiceRequest:
    return invoice_pb2.CalculateInvoiceRequest(reseller_id="r1", period=types_pb2.Period(start_date=start,
                                                                                         end_date=end))


def invalid_field(action) -> str:
    with pytest.raises(InvalidArgument) as error:
        action()
    return error.value.field


# ---- resellers -------------------------------------------------------------------------------
def test_terms_round_trip_through_the_wire_message():
    message = c.terms_to_proto(TERMS, position=17)
    assert (message.reseller_id, message.tax_rate, list(message.address_lines), message.position) == (
        "r1", "0.19", ["Bahnhofstr. 1", "8001 Zürich"], 17)
    assert c.terms_from_proto(message) == TERMS


def test_terms_stored_as_a_dict_convert_like_the_terms():
    assert c.terms_to_proto(TERMS.as_dict(), 3) == c.terms_to_proto(TERMS, 3)


def test_empty_optional_fields_round_trip_as_empty():
    minimal = reseller_pb2.Reseller(reseller_id="r2", name="N", currency="JPY", time_zone="UTC", tax_rate="0")
    terms = c.terms_from_proto(minimal)
    assert (terms.address_lines, terms.tax_id, terms.email) == ((), "", "")
    assert c.terms_from_proto(c.terms_to_proto(terms)) == terms


@pytest.mark.parametrize("field,value", [("currency", "EURO"), ("time_zone", "Mars/Base"), ("tax_rate", "1"),
                                         ("reseller_id", ""), ("name", "")])
def test_invalid_wire_terms_name_the_field(field, value):
    message = c.terms_to_proto(TERMS)
    setattr(message, field, value)
    assert invalid_field(lambda: c.terms_from_proto(message)) == field


def test_an_invalid_address_line_is_named_by_its_index():
    message = c.terms_to_proto(TERMS)
    message.address_lines.append("bad\x07")
    assert invalid_field(lambda: c.terms_from_proto(message)) == "address_lines[2]"


def test_part_two_terms_round_trip_and_reads_resolve_the_defaults():
    full = ResellerTerms.parse(reseller_id="r9", name="N", currency="EUR", time_zone="UTC", tax_rate="0",
                               country_code="DE", postal_code="10115", city="Berlin", vat_category="REVERSE_CHARGE",
                               payment_terms_days=0, invoice_series_id="eu", credit_note_series_id="eu-cn")
    message = c.terms_to_proto(full)
    assert (message.vat_category, message.payment_terms_days) == (reseller_pb2.VAT_CATEGORY_REVERSE_CHARGE, 0)
    assert c.terms_from_proto(message) == full
    defaults = c.terms_to_proto(TERMS)
    assert (defaults.vat_category, defaults.payment_terms_days, defaults.invoice_series_id,
            defaults.credit_note_series_id) == (reseller_pb2.VAT_CATEGORY_STANDARD, 30, "invoices", "credit-notes")
    assert defaults.HasField("payment_terms_days") and c.terms_from_proto(defaults) == TERMS


def test_only_part_two_fields_present_on_the_wire_are_taken_even_when_empty_or_zero():
    message = reseller_pb2.Reseller(reseller_id="r1", name="N", currency="EUR", time_zone="UTC", tax_rate="0",
                                    city="", payment_terms_days=0)
    base, present = c.reseller_fields_from_proto(message)
    assert present == {"city": "", "payment_terms_days": 0} and base["reseller_id"] == "r1"
    assert c.reseller_fields_from_proto(reseller_pb2.Reseller(reseller_id="r1"))[1] == {}


def test_an_unknown_vat_category_number_names_the_field():
    message = reseller_pb2.Reseller(reseller_id="r1", name="N", currency="EUR", time_zone="UTC", tax_rate="0",
                                    vat_category=99)
    assert invalid_field(lambda: c.reseller_fields_from_proto(message)) == "vat_category"


# ---- periods and dates -----------------------------------------------------------------------
def test_period_round_trips_end_date_inclusive():
    period = c.period_from_proto(request_with(pb_date(2026, 2, 1), pb_date(2026, 2, 28)))
    assert period == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert c.period_to_proto(period.as_dict()) == types_pb2.Period(start_date=pb_date(2026, 2, 1),
                                                                   end_date=pb_date(2026, 2, 28))


def test_a_one_day_period_is_valid():
    assert c.period_from_proto(request_with(pb_date(2024, 2, 29), pb_date(2024, 2, 29))).start == date(2024, 2, 29)


def test_a_missing_period_is_required():
    assert invalid_field(lambda: c.period_from_proto(invoice_pb2.CalculateInvoiceRequest(reseller_id="r1"))) == \
        "period"


@pytest.mark.parametrize("start,end,field", [
    (pb_date(2026, 2, 30), pb_date(2026, 3, 1), "period.start_date"),
    (pb_date(0, 0, 0), pb_date(2026, 3, 1), "period.start_date"),
    (pb_date(2026, 3, 1), pb_date(2026, 13, 1), "period.end_date"),
    (pb_date(2026, 3, 1), pb_date(2025, 2, 29), "period.end_date"),
    (pb_date(2026, 3, 1), pb_date(-1, 1, 1), "period.end_date"),
    (pb_date(2026, 3, 2), pb_date(2026, 3, 1), "period.end_date"),  # end before start
])
def test_an_invalid_date_names_its_field(start, end, field):
    assert invalid_field(lambda: c.period_from_proto(request_with(start, end))) == field


def test_invalid_date_message_shows_the_date_given():
    with pytest.raises(InvalidArgument, match="2026-02-30"):
        c.date_from_proto(pb_date(2026, 2, 30), "issued_from")


def test_dates_convert_from_iso_text_and_from_date():
    assert c.date_to_proto("2026-03-09") == c.date_to_proto(date(2026, 3, 9)) == pb_date(2026, 3, 9)
    assert c.date_from_proto(pb_date(2026, 3, 9), "d") == date(2026, 3, 9)


# ---- calls -----------------------------------------------------------------------------------
def test_wire_calls_become_call_inputs_with_exact_start():
    wire = usage_pb2.Call(call_id="c1", reseller_id="r1", billed_seconds=61, destination="4915",
                          destination_group="DE Mobile", amount="0.0125", currency="EUR")
    wire.started_at.FromJsonString("2026-03-10T10:00:00.250Z")
    assert [CallInput(*row) for row in c.calls_from_proto([wire])] == [
        CallInput("c1", "r1", 1773136800, 250_000_000, 61, "4915", "DE Mobile", "0.0125", "EUR")]


def test_a_call_without_started_at_says_so_and_a_set_epoch_does_not():
    missing = usage_pb2.Call(call_id="c1", reseller_id="r1", amount="1", currency="EUR")
    epoch = usage_pb2.Call(call_id="c2")
    epoch.started_at.SetInParent()  # 1970-01-01T00:00:00Z, explicitly set
    converted = [CallInput(*row) for row in c.calls_from_proto([missing, epoch])]
    assert (converted[0].started_s, converted[1].started_s) == (None, 0)  # None: no started_at


def test_no_calls_convert_to_no_inputs():
    assert list(c.calls_from_proto([])) == []


# ---- invoices --------------------------------------------------------------------------------
def invoice(**changes) -> Invoice:
    totals = compute_totals([UsageRow("DE Mobile", 2, 120, 1, 5_000_000)], "EUR", "0.19")
    fields = dict(invoice_key="request:k", request_id="k", sequence=5, number="INV-5", reseller_id="r1",
                  period={"start": "2026-03-01", "end": "2026-03-31"},
                  issued_at=datetime(2026, 4, 1, 8, 0, 0, 123000, tzinfo=timezone.utc), issue_date="2026-04-01",
                  bill_to=TERMS.as_dict(), currency="EUR", lines=totals.lines, subtotal=totals.subtotal,
                  tax_rate=totals.tax_rate, tax=totals.tax, total=totals.total, template_version=2, covers_through=1)
    return Invoice(**{**fields, **changes})


def test_an_issued_invoice_converts_field_by_field():
    inv = invoice()
    message = c.invoice_to_proto(inv, 42)
    assert (message.invoice_id, message.number, message.status, message.position) == (
        str(inv.id), "INV-5", invoice_pb2.INVOICE_STATUS_ISSUED, 42)
    assert message.issued_at.ToDatetime(tzinfo=timezone.utc) == inv.issued_at
    assert c.terms_from_proto(message.bill_to) == TERMS
    assert [(x.destination_group, x.calls, x.billed_seconds, x.amount) for x in message.lines] == [
        ("DE Mobile", 2, 120, "1.01")]
    assert (message.subtotal, message.tax_rate, message.tax, message.total, message.template_version) == (
        "1.01", "0.19", "0.19", "1.20", 2)
    assert c.period_from_proto(message) == Period(date(2026, 3, 1), date(2026, 3, 31))
    assert message.void_reason == ""


def test_a_void_invoice_converts_with_its_status_and_reason():
    inv = invoice()
    inv.void("duplicate")
    message = c.invoice_to_proto(inv, 43)
    assert (message.status, message.void_reason, message.number) == (invoice_pb2.INVOICE_STATUS_VOID,
                                                                     "duplicate", "INV-5")


def test_a_fresh_invoice_owes_its_total_and_a_void_one_nothing():
    inv = invoice(due_date="2026-05-01")
    message = c.invoice_to_proto(inv, 1)
    assert (message.outstanding, message.paid_total, message.credited_total) == ("1.20", "0.00", "0.00")
    assert message.payment_status == invoice_pb2.PAYMENT_STATUS_UNPAID and message.series_id == "invoices"
    assert message.due_date == pb_date(2026, 5, 1)
    inv.void("x")
    message = c.invoice_to_proto(inv, 2)
    assert (message.outstanding, message.payment_status) == ("0.00", invoice_pb2.PAYMENT_STATUS_NONE)


def test_an_invoice_issued_before_due_dates_has_none():
    assert not c.invoice_to_proto(invoice(), 1).HasField("due_date")


def test_every_stored_status_has_its_own_wire_status():
    stored = {v for k, v in vars(InvoiceStatus).items() if k.isupper()}
    assert stored <= set(c.STATUS)
    assert len(set(c.STATUS.values())) == len(c.STATUS) and invoice_pb2.INVOICE_STATUS_UNSPECIFIED not in \
        c.STATUS.values()


def test_a_draft_carries_the_calculation_without_number_or_status():
    totals = compute_totals([UsageRow("A", 1, 60, 10, 0)], "EUR", "0.19")
    draft = c.draft_to_proto("r1", Period(date(2026, 3, 1), date(2026, 3, 31)), TERMS, totals)
    assert (draft.reseller_id, draft.currency, draft.total, len(draft.lines)) == ("r1", "EUR", "11.90", 1)
    assert c.terms_from_proto(draft.bill_to) == TERMS and draft.period.end_date == pb_date(2026, 3, 31)


def test_numbering_converts_pattern_next_number_and_position():
    numbering = Numbering(pattern="N-%num%", next_number=7)
    assert c.numbering_to_proto(numbering, 9).SerializeToString() == \
        c.numbering_to_proto(Numbering("N-%num%", 7), 9).SerializeToString()
    message = c.numbering_to_proto(numbering, 9)
    assert (message.pattern, message.next_number, message.position) == ("N-%num%", 7, 9)


# ---- usage totals, ids, paging ---------------------------------------------------------------
@pytest.mark.parametrize("currency,units,nanos,amount", [
    ("EUR", 0, 12_500_000, "0.01"), ("EUR", 1, 5_000_000, "1.01"), ("EUR", 0, 0, "0.00"),
    ("JPY", 2, 500_000_000, "3"), ("KWD", 1, 234_500_000, "1.235"),
    ("EUR", 0, 2_500_000_000, "2.50"),  # summed nanos beyond one unit carry over
])
def test_usage_totals_format_the_amount_in_the_currency(currency, units, nanos, amount):
    message = c.usage_totals_to_proto([3, 180, units, nanos], currency)
    assert (message.calls, message.billed_seconds, message.amount) == (3, 180, amount)


def test_uuid_text_is_parsed_or_names_the_field():
    assert c.uuid_from("9dde0b4f-0000-4000-8000-000000000000", "invoice_id") == \
        UUID("9dde0b4f-0000-4000-8000-000000000000")
    assert invalid_field(lambda: c.uuid_from("not-a-uuid", "invoice_id")) == "invoice_id"
    assert invalid_field(lambda: c.uuid_from("", "invoice_id")) == "invoice_id"


@pytest.mark.parametrize("requested,size", [(0, 50), (1, 1), (500, 500), (501, 500), (10**6, 500)])
def test_page_size_defaults_to_50_and_caps_at_500(requested, size):
    assert c.page_size(requested) == size
