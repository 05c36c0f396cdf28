"""Payments, due dates and statements (SPEC §14): who owes what, and since when."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta, timezone
from zoneinfo import ZoneInfo

import grpc
import pytest

from billing.v1 import invoice_pb2, payment_pb2, reseller_pb2
from helpers import Stubs, bad_request_fields, call, create, credit, day_proto, reseller, send

P = invoice_pb2


@pytest.fixture
def stubs(channel):
    s = Stubs(channel)
    s.resellers.UpsertReseller(reseller(payment_terms_days=14))
    send(s, [call("a", amount="100")])  # March: subtotal 100.00, tax 19.00, total 119.00
    return s


def pay(stubs, invoice_id, amount, on="2026-04-10", reference="bank", request_id=""):
    return stubs.payments.RecordPayment(payment_pb2.RecordPaymentRequest(
        invoice_id=invoice_id, amount=amount, received_on=day_proto(on), reference=reference, request_id=request_id))


def get(stubs, invoice_id):
    return stubs.invoices.GetInvoice(invoice_pb2.GetInvoiceRequest(invoice_id=invoice_id))


def error_of(fn, *args, **kw) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        fn(*args, **kw)
    return err.value


def test_a_new_invoice_is_due_after_the_resellers_payment_terms(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    issued = inv.issued_at.ToDatetime(tzinfo=timezone.utc).astimezone(ZoneInfo("Europe/Berlin")).date()
    due = date(inv.due_date.year, inv.due_date.month, inv.due_date.day)
    assert due == issued + timedelta(days=14)  # the issue date in the reseller's zone + its terms
    assert (inv.outstanding, inv.paid_total, inv.payment_status) == ("119.00", "0.00", P.PAYMENT_STATUS_UNPAID)


def test_payments_move_the_status_and_never_the_totals(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    first = pay(stubs, inv.invoice_id, "19.00", reference="SEPA 1")
    assert (first.amount, first.currency, first.reseller_id) == ("19.00", "EUR", "r1")
    got = get(stubs, inv.invoice_id)
    assert (got.paid_total, got.outstanding, got.payment_status) == ("19.00", "100.00", P.PAYMENT_STATUS_PARTIALLY_PAID)
    assert (got.subtotal, got.tax, got.total) == (inv.subtotal, inv.tax, inv.total)
    pay(stubs, inv.invoice_id, "100")
    got = get(stubs, inv.invoice_id)
    assert (got.outstanding, got.payment_status) == ("0.00", P.PAYMENT_STATUS_SETTLED)
    history = stubs.invoices.GetInvoiceHistory(invoice_pb2.GetInvoiceHistoryRequest(invoice_id=inv.invoice_id))
    assert [e.type for e in history.events] == ["Invoice.Issued", "Invoice.PaymentRecorded", "Invoice.PaymentRecorded"]


def test_a_payment_is_idempotent_by_request_id(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    a = pay(stubs, inv.invoice_id, "10", request_id="p-1")
    b = pay(stubs, inv.invoice_id, "10", request_id="p-1")
    assert a.payment_id == b.payment_id and get(stubs, inv.invoice_id).paid_total == "10.00"
    assert error_of(pay, stubs, inv.invoice_id, "11", request_id="p-1").code() == grpc.StatusCode.ALREADY_EXISTS


@pytest.mark.parametrize("amount,on,code,field", [
    ("10.001", "2026-04-01", grpc.StatusCode.INVALID_ARGUMENT, "amount"),
    ("-5", "2026-04-01", grpc.StatusCode.INVALID_ARGUMENT, "amount"),
    ("0", "2026-04-01", grpc.StatusCode.INVALID_ARGUMENT, "amount"),
    ("abc", "2026-04-01", grpc.StatusCode.INVALID_ARGUMENT, "amount"),
    ("119.01", "2026-04-01", grpc.StatusCode.FAILED_PRECONDITION, None),
    ("10", "2026-02-30", grpc.StatusCode.INVALID_ARGUMENT, "received_on"),
])
def test_bad_payments_are_refused_and_write_nothing(stubs, amount, on, code, field):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    before = stubs.event_count()
    request = payment_pb2.RecordPaymentRequest(invoice_id=inv.invoice_id, amount=amount)
    y, m, d = map(int, on.split("-"))
    request.received_on.year, request.received_on.month, request.received_on.day = y, m, d
    err = error_of(stubs.payments.RecordPayment, request)
    assert err.code() == code
    if field:
        assert bad_request_fields(err) == [field]
    assert stubs.event_count() == before


def test_payments_on_unknown_void_or_credited_invoices_are_refused(stubs):
    assert error_of(pay, stubs, "00000000-0000-0000-0000-000000000000", "1").code() == grpc.StatusCode.NOT_FOUND
    inv = create(stubs, "2026-03-01", "2026-03-31")
    credit(stubs, inv.invoice_id)
    assert error_of(pay, stubs, inv.invoice_id, "1").code() == grpc.StatusCode.FAILED_PRECONDITION
    other = create(stubs, "2026-04-01", "2026-04-30")
    stubs.invoices.VoidInvoice(invoice_pb2.VoidInvoiceRequest(invoice_id=other.invoice_id, reason="never sent"))
    assert error_of(pay, stubs, other.invoice_id, "1").code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_paid_invoice_cannot_be_voided(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    pay(stubs, inv.invoice_id, "1")
    err = error_of(stubs.invoices.VoidInvoice, invoice_pb2.VoidInvoiceRequest(invoice_id=inv.invoice_id, reason="x"))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and "credit note" in err.details()


def test_a_credit_after_payment_overpays_and_a_refund_settles_it(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    pay(stubs, inv.invoice_id, "119")
    credit(stubs, inv.invoice_id, lines=[("Germany Mobile", "10.00")])  # 11.90 with tax
    got = get(stubs, inv.invoice_id)
    assert (got.outstanding, got.payment_status) == ("-11.90", P.PAYMENT_STATUS_SETTLED)
    too_much = payment_pb2.RecordRefundRequest(invoice_id=inv.invoice_id, amount="12", refunded_on=day_proto("2026-05-01"))
    assert error_of(stubs.payments.RecordRefund, too_much).code() == grpc.StatusCode.FAILED_PRECONDITION
    refund = stubs.payments.RecordRefund(payment_pb2.RecordRefundRequest(
        invoice_id=inv.invoice_id, amount="11.90", refunded_on=day_proto("2026-05-01"), reference="back"))
    assert refund.amount == "-11.90" and get(stubs, inv.invoice_id).outstanding == "0.00"


def test_eight_clients_paying_at_once_never_overpay(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    barrier = threading.Barrier(8)

    def attempt(i):
        barrier.wait()
        try:
            return pay(stubs, inv.invoice_id, "40").amount
        except grpc.RpcError as e:
            return e.code()
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("40.00") == 2 and outcomes.count(grpc.StatusCode.FAILED_PRECONDITION) == 6
    assert get(stubs, inv.invoice_id).outstanding == "39.00"


def test_payments_are_listed_newest_received_first_by_invoice_or_reseller(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    pay(stubs, inv.invoice_id, "1", on="2026-04-05", reference="a")
    pay(stubs, inv.invoice_id, "2", on="2026-04-20", reference="b")
    last = pay(stubs, inv.invoice_id, "3", on="2026-04-05", reference="c")
    by_invoice = stubs.payments.ListPayments(payment_pb2.ListPaymentsRequest(invoice_id=inv.invoice_id,
                                                                              min_position=last.position))
    assert [p.reference for p in by_invoice.payments] == ["b", "c", "a"]
    page = stubs.payments.ListPayments(payment_pb2.ListPaymentsRequest(reseller_id="r1", page_size=2))
    assert [p.reference for p in page.payments] == ["b", "c"] and page.next_page_token
    rest = stubs.payments.ListPayments(payment_pb2.ListPaymentsRequest(reseller_id="r1",
                                                                        page_token=page.next_page_token))
    assert [p.reference for p in rest.payments] == ["a"]
    for bad in (payment_pb2.ListPaymentsRequest(), payment_pb2.ListPaymentsRequest(invoice_id=inv.invoice_id,
                                                                                    reseller_id="r1")):
        assert error_of(stubs.payments.ListPayments, bad).code() == grpc.StatusCode.INVALID_ARGUMENT


def test_lists_filter_by_payment_status_and_overdue_day(stubs):
    send(stubs, [call("jan", amount="5", started="2026-01-10T10:00:00Z"),
                 call("feb", amount="5", started="2026-02-10T10:00:00Z")])
    a = create(stubs, "2026-01-01", "2026-01-31")
    b = create(stubs, "2026-02-01", "2026-02-28")
    c = create(stubs, "2026-03-01", "2026-03-31")
    pay(stubs, b.invoice_id, "1")
    last = pay(stubs, c.invoice_id, c.total)
    due = date(a.due_date.year, a.due_date.month, a.due_date.day)

    def ids(**kw):
        listed = stubs.invoices.ListInvoices(invoice_pb2.ListInvoicesRequest(min_position=last.position, **kw))
        return [i.number for i in listed.invoices]
    assert ids(payment_status=P.PAYMENT_STATUS_UNPAID) == [a.number]
    assert ids(payment_status=P.PAYMENT_STATUS_PARTIALLY_PAID) == [b.number]
    assert ids(payment_status=P.PAYMENT_STATUS_SETTLED) == [c.number]
    assert ids(overdue_on=day_proto(due.isoformat())) == []  # due_date < overdue_on, strictly
    assert ids(overdue_on=day_proto((due + timedelta(days=1)).isoformat())) == [b.number, a.number]
    found = stubs.invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(
        query="zurich", payment_status=P.PAYMENT_STATUS_UNPAID, min_position=last.position))
    assert [i.number for i in found.invoices] == [a.number]


def test_a_statement_as_of_a_past_day_ignores_later_payments_and_credits(stubs):
    inv = create(stubs, "2026-03-01", "2026-03-31")
    due = date(inv.due_date.year, inv.due_date.month, inv.due_date.day)
    pay(stubs, inv.invoice_id, "19", on=(due + timedelta(days=10)).isoformat())
    credit(stubs, inv.invoice_id, lines=[("Germany Mobile", "10.00")])  # issued today

    def statement(as_of: date):
        return stubs.payments.GetResellerStatement(payment_pb2.GetResellerStatementRequest(
            reseller_id="r1", as_of=day_proto(as_of.isoformat())))
    early = statement(due + timedelta(days=5))  # the credit note (today) counts, the payment (due + 10) not yet
    assert [(l.number, l.credited, l.paid, l.outstanding, l.days_overdue) for l in early.lines] == [
        (inv.number, "11.90", "0.00", "107.10", 5)]
    assert early.balance == "107.10" and early.aging.days_1_30 == "107.10" and early.aging.current == "0.00"
    later = statement(due + timedelta(days=45))
    assert (later.lines[0].paid, later.balance) == ("19.00", "88.10") and later.aging.days_31_60 == "88.10"
    issued = date(early.lines[0].issue_date.year, early.lines[0].issue_date.month, early.lines[0].issue_date.day)
    before_issue = statement(issued - timedelta(days=1))
    assert list(before_issue.lines) == [] and before_issue.balance == "0.00"
    today = stubs.payments.GetResellerStatement(payment_pb2.GetResellerStatementRequest(reseller_id="r1"))
    assert (today.lines[0].credited, today.lines[0].paid, today.aging.current) == ("11.90", "0.00", "107.10")
    assert error_of(stubs.payments.GetResellerStatement, payment_pb2.GetResellerStatementRequest(
        reseller_id="nobody")).code() == grpc.StatusCode.NOT_FOUND


def test_terms_of_zero_days_are_due_on_the_issue_date_and_old_style_upserts_keep_them(stubs):
    stubs.resellers.UpsertReseller(reseller("now", payment_terms_days=0))
    stubs.resellers.UpsertReseller(reseller("now", name="Renamed"))  # payment_terms_days absent: kept
    assert stubs.resellers.GetReseller(reseller_pb2.GetResellerRequest(reseller_id="now")).payment_terms_days == 0
    inv = create(stubs, "2026-03-01", "2026-03-31", reseller_id="now")
    issued = inv.issued_at.ToDatetime(tzinfo=timezone.utc).astimezone(ZoneInfo("Europe/Berlin")).date()
    assert date(inv.due_date.year, inv.due_date.month, inv.due_date.day) == issued
