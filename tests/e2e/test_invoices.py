"""InvoiceService end to end: totals, periods in local time, overlap, void, late calls, idempotency."""
from datetime import datetime
from zoneinfo import ZoneInfo

import grpc
import pytest

from billing.v1 import invoice_pb2, usage_pb2
from helpers import Stubs, bad_request_fields, call, create, period, reseller, send


@pytest.fixture
def stubs(channel):
    s = Stubs(channel)
    s.resellers.UpsertReseller(reseller())
    return s


def local(zone, *args):
    return datetime(*args, tzinfo=ZoneInfo(zone))


def calculate(stubs, start, end, reseller_id="r1"):
    return stubs.invoices.CalculateInvoice(invoice_pb2.CalculateInvoiceRequest(
        reseller_id=reseller_id, period=period(start, end)))


def get(stubs, invoice_id="", number="", version=0):
    request = invoice_pb2.GetInvoiceRequest(version=version)
    if number:
        request.number = number
    else:
        request.invoice_id = invoice_id
    return stubs.invoices.GetInvoice(request)


def code_of(fn, *args, **kw):
    with pytest.raises(grpc.RpcError) as err:
        fn(*args, **kw)
    return err.value.code()


def test_invoice_groups_calls_by_destination_group_with_rounded_totals(stubs):
    send(stubs, [call("a", amount="10.005", seconds=61), call("b", amount="0.004", seconds=59),
                 call("c", amount="5.5", group="Germany Fixed", seconds=600)])
    inv = create(stubs, "2026-03-01", "2026-03-31")
    assert [(l.destination_group, l.calls, l.billed_seconds, l.amount) for l in inv.lines] == [
        ("Germany Fixed", 1, 600, "5.50"), ("Germany Mobile", 2, 120, "10.01")]
    assert (inv.subtotal, inv.tax_rate, inv.tax, inv.total) == ("15.51", "0.19", "2.95", "18.46")
    assert inv.number == "1" and inv.status == invoice_pb2.INVOICE_STATUS_ISSUED and inv.position > 0
    assert inv.bill_to.name == "Zürich Telecom" and inv.currency == "EUR"


@pytest.mark.parametrize("currency,amounts,subtotal,tax,total", [
    ("JPY", ["100.5", "0.4"], "101", "19", "120"),
    ("KWD", ["1.2345", "0.0004"], "1.235", "0.235", "1.470"),
])
def test_rounding_follows_the_currency_minor_unit(stubs, currency, amounts, subtotal, tax, total):
    stubs.resellers.UpsertReseller(reseller("k", currency=currency))
    send(stubs, [call(f"c{i}", reseller_id="k", amount=a, currency=currency) for i, a in enumerate(amounts)])
    inv = create(stubs, "2026-03-01", "2026-03-31", reseller_id="k")
    assert (inv.subtotal, inv.tax, inv.total) == (subtotal, tax, total)


def test_calculate_previews_without_writing(stubs):
    send(stubs, [call("a")])
    draft = calculate(stubs, "2026-03-01", "2026-03-31")
    assert draft.total == "0.01" and draft.lines[0].calls == 1
    assert create(stubs, "2026-03-01", "2026-03-31").number == "1"  # the preview took no number


def test_period_is_whole_local_days_end_date_inclusive(stubs):
    z = "Europe/Berlin"
    send(stubs, [call("before", started=local(z, 2026, 2, 28, 23, 59, 59, 999000)),
                 call("first", started=local(z, 2026, 3, 1, 0, 0, 0)),
                 call("last", started=local(z, 2026, 3, 31, 23, 59, 59, 999000)),
                 call("after", started=local(z, 2026, 4, 1, 0, 0, 0))])
    assert calculate(stubs, "2026-03-01", "2026-03-31").lines[0].calls == 2


def test_a_period_spanning_dst_changes_counts_each_local_day_once(stubs):
    z = "Europe/Berlin"  # 29 March 2026 has 23 hours, 25 October 2026 has 25
    send(stubs, [call("d1", started=local(z, 2026, 3, 29, 0, 30)), call("d2", started=local(z, 2026, 3, 29, 23, 30)),
                 call("d3", started=local(z, 2026, 10, 25, 23, 59, 59)), call("d4", started=local(z, 2026, 10, 26, 0, 0))])
    assert calculate(stubs, "2026-03-29", "2026-03-29").lines[0].calls == 2
    assert calculate(stubs, "2026-03-29", "2026-10-25").lines[0].calls == 3


@pytest.mark.parametrize("zone", ["Asia/Kathmandu", "Asia/Kolkata"])
def test_non_whole_hour_zones_cut_days_at_local_midnight(stubs, zone):
    stubs.resellers.UpsertReseller(reseller("asia", time_zone=zone))
    send(stubs, [call("in", reseller_id="asia", started=local(zone, 2026, 3, 31, 23, 59, 59, 999000)),
                 call("out", reseller_id="asia", started=local(zone, 2026, 4, 1, 0, 0, 0))])
    assert calculate(stubs, "2026-03-01", "2026-03-31", "asia").lines[0].calls == 1
    assert calculate(stubs, "2026-04-01", "2026-04-01", "asia").lines[0].calls == 1


def test_end_before_start_is_invalid_argument_naming_the_field(stubs):
    with pytest.raises(grpc.RpcError) as err:
        create(stubs, "2026-03-02", "2026-03-01")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(err.value) == ["period.end_date"]


def test_empty_period_gives_a_zero_invoice(stubs):
    inv = create(stubs, "2026-05-01", "2026-05-31")
    assert (list(inv.lines), inv.total) == ([], "0.00")


def test_bill_to_is_a_snapshot_taken_at_issue(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    stubs.resellers.UpsertReseller(reseller(name="Renamed GmbH", tax_rate="0.2"))
    again = get(stubs, inv.invoice_id)
    assert again.bill_to.name == "Zürich Telecom" and again.tax_rate == "0.19"


def test_overlapping_period_is_refused_until_the_invoice_is_voided(stubs):
    first = create(stubs, "2026-03-01", "2026-03-31")
    assert code_of(create, stubs, "2026-03-31", "2026-04-30") == grpc.StatusCode.FAILED_PRECONDITION
    voided = stubs.invoices.VoidInvoice(invoice_pb2.VoidInvoiceRequest(invoice_id=first.invoice_id, reason="wrong"))
    assert voided.status == invoice_pb2.INVOICE_STATUS_VOID and voided.number == first.number
    second = create(stubs, "2026-03-31", "2026-04-30")
    assert second.number == "2"  # a voided number is never reused


def test_void_twice_is_a_failed_precondition_and_reason_is_required(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    void = stubs.invoices.VoidInvoice
    assert code_of(void, invoice_pb2.VoidInvoiceRequest(invoice_id=inv.invoice_id)) == grpc.StatusCode.INVALID_ARGUMENT
    void(invoice_pb2.VoidInvoiceRequest(invoice_id=inv.invoice_id, reason="dup"))
    assert code_of(void, invoice_pb2.VoidInvoiceRequest(invoice_id=inv.invoice_id, reason="again")) == \
        grpc.StatusCode.FAILED_PRECONDITION


def test_late_calls_never_change_the_invoice_and_are_billed_after_void_and_reissue(stubs):
    send(stubs, [call("a", amount="1.00")])
    first = create(stubs, "2026-03-01", "2026-03-31")
    late = send(stubs, [call("late", amount="2.00"), call("april", started="2026-04-02T10:00:00Z")])
    assert (late.accepted, late.late) == (2, 1)
    assert get(stubs, first.invoice_id).total == first.total == "1.19"
    summary = stubs.usage.GetUsageSummary(usage_pb2.GetUsageSummaryRequest(
        reseller_id="r1", period=period("2026-03-01", "2026-03-31"))).groups[0]
    assert (summary.billed.amount, summary.late.amount, summary.unbilled.calls) == ("1.00", "2.00", 0)
    stubs.invoices.VoidInvoice(invoice_pb2.VoidInvoiceRequest(invoice_id=first.invoice_id, reason="late calls"))
    reissued = create(stubs, "2026-03-01", "2026-03-31")
    assert (reissued.subtotal, reissued.number) == ("3.00", "2")
    summary = stubs.usage.GetUsageSummary(usage_pb2.GetUsageSummaryRequest(
        reseller_id="r1", period=period("2026-03-01", "2026-03-31"))).groups[0]
    assert (summary.billed.calls, summary.late.calls, summary.unbilled.calls) == (2, 0, 0)


def test_request_id_makes_create_idempotent(stubs):
    send(stubs, [call("a")])
    first = create(stubs, "2026-03-01", "2026-03-31", request_id="req-42")
    again = create(stubs, "2026-03-01", "2026-03-31", request_id="req-42")
    assert (again.invoice_id, again.number) == (first.invoice_id, first.number)
    assert code_of(create, stubs, "2026-04-01", "2026-04-30", request_id="req-42") == grpc.StatusCode.ALREADY_EXISTS
    assert create(stubs, "2026-04-01", "2026-04-30").number == "2"  # no number was spent on the replay
    assert code_of(create, stubs, "2026-05-01", "2026-05-31", request_id="x" * 256) == grpc.StatusCode.INVALID_ARGUMENT


def test_request_id_is_unique_across_resellers(stubs):
    stubs.resellers.UpsertReseller(reseller("r2"))
    create(stubs, "2026-03-01", "2026-03-31", request_id="shared")
    assert code_of(create, stubs, "2026-03-01", "2026-03-31", reseller_id="r2", request_id="shared") == \
        grpc.StatusCode.ALREADY_EXISTS


def test_get_by_number_and_by_version_and_history(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    stubs.invoices.VoidInvoice(invoice_pb2.VoidInvoiceRequest(invoice_id=inv.invoice_id, reason="test"))
    assert get(stubs, number=inv.number).status == invoice_pb2.INVOICE_STATUS_VOID
    as_issued = get(stubs, inv.invoice_id, version=1)
    assert as_issued.status == invoice_pb2.INVOICE_STATUS_ISSUED and as_issued.total == inv.total
    history = stubs.invoices.GetInvoiceHistory(invoice_pb2.GetInvoiceHistoryRequest(invoice_id=inv.invoice_id))
    assert [(e.version, e.type) for e in history.events] == [(1, "Invoice.Issued"), (2, "Invoice.Voided")]
    assert '"reason": "test"' in history.events[1].payload_json


def test_unknown_invoice_id_or_number_is_not_found(stubs):
    assert code_of(get, stubs, "5f0c1b2e-0000-4000-8000-000000000000") == grpc.StatusCode.NOT_FOUND
    assert code_of(get, stubs, number="999") == grpc.StatusCode.NOT_FOUND
    assert code_of(get, stubs, "not-a-uuid") == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(create, stubs, "2026-03-01", "2026-03-31", reseller_id="ghost") == grpc.StatusCode.NOT_FOUND


def test_list_is_newest_first_per_reseller_and_pages(stubs):
    stubs.resellers.UpsertReseller(reseller("r2"))
    for month in range(1, 6):
        create(stubs, f"2026-{month:02d}-01", f"2026-{month:02d}-28")
        create(stubs, f"2026-{month:02d}-01", f"2026-{month:02d}-28", reseller_id="r2")
    numbers, token = [], ""
    while True:
        page = stubs.invoices.ListInvoices(invoice_pb2.ListInvoicesRequest(reseller_id="r1", page_size=2,
                                                                           page_token=token))
        numbers += [i.number for i in page.invoices]
        token = page.next_page_token
        if not token:
            break
    assert numbers == ["9", "7", "5", "3", "1"]
