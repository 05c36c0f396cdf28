"""Credit notes (SPEC §13): correct an issued invoice lawfully — partial or full, never over-credited."""
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from billing.v1 import audit_pb2, credit_note_pb2, invoice_pb2, types_pb2, usage_pb2
from helpers import Stubs, bad_request_fields, call, create, credit, reseller, send


@pytest.fixture
def stubs(channel):
    s = Stubs(channel)
    s.resellers.UpsertReseller(reseller())
    send(s, [call("a", amount="10.005", group="Germany Fixed"), call("b", amount="20", group="Germany Mobile"),
             call("c", amount="0.5", group="Germany Mobile", started="2026-03-20T10:00:00Z")])
    return s


def invoice(stubs) -> invoice_pb2.Invoice:
    return create(stubs, "2026-03-01", "2026-03-31")


def code_of(fn, *args, **kw) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        fn(*args, **kw)
    return err.value.code()


def test_a_full_credit_note_credits_everything_and_marks_the_invoice_credited(stubs):
    inv = invoice(stubs)  # lines 10.01 + 20.50 = 30.51, tax 5.80, total 36.31
    note = credit(stubs, inv.invoice_id, reason="re-rated")
    assert (note.number, note.series_id, note.invoice_number) == ("CN-1", "credit-notes", inv.number)
    assert [(l.destination_group, l.amount) for l in note.lines] == [("Germany Fixed", "10.01"),
                                                                        ("Germany Mobile", "20.50")]
    assert (note.subtotal, note.tax, note.total) == (inv.subtotal, inv.tax, inv.total)
    got = stubs.invoices.GetInvoice(invoice_pb2.GetInvoiceRequest(invoice_id=inv.invoice_id))
    assert got.status == invoice_pb2.INVOICE_STATUS_CREDITED and got.credited_total == inv.total
    assert got.outstanding == "0.00" and got.payment_status == invoice_pb2.PAYMENT_STATUS_SETTLED


def test_partial_credits_leave_the_invoice_issued_and_the_completing_one_takes_the_remaining_tax(stubs):
    inv = invoice(stubs)
    first = credit(stubs, inv.invoice_id, lines=[("Germany Mobile", "0.05")])
    assert (first.subtotal, first.tax, first.total) == ("0.05", "0.01", "0.06")
    got = stubs.invoices.GetInvoice(invoice_pb2.GetInvoiceRequest(invoice_id=inv.invoice_id))
    assert got.status == invoice_pb2.INVOICE_STATUS_ISSUED and got.credited_total == "0.06"
    rest = credit(stubs, inv.invoice_id)  # everything still creditable
    assert [(l.destination_group, l.amount) for l in rest.lines] == [("Germany Fixed", "10.01"),
                                                                        ("Germany Mobile", "20.45")]
    assert rest.tax == "5.79"  # 5.80 - 0.01: exactly what was left, not round(30.46 x 0.19) = 5.79 by chance
    total = sum(float(n.total) for n in (first, rest))
    assert f"{total:.2f}" == inv.total
    assert stubs.invoices.GetInvoice(invoice_pb2.GetInvoiceRequest(
        invoice_id=inv.invoice_id)).status == invoice_pb2.INVOICE_STATUS_CREDITED


def test_small_credits_never_take_more_tax_than_the_invoice_has(channel):
    stubs = Stubs(channel)
    stubs.resellers.UpsertReseller(reseller())
    send(stubs, [call(f"x{i}", amount="0.03", group=f"G{i}") for i in range(4)])  # 0.12, tax round(0.0228)=0.02
    inv = invoice(stubs)
    taxes = [credit(stubs, inv.invoice_id, lines=[(f"G{i}", "0.03")]).tax for i in range(4)]
    assert taxes == ["0.01", "0.01", "0.00", "0.00"]  # the sum never passes the invoice's 0.02


def test_credit_and_rebill_bills_the_late_calls_of_the_period(stubs):
    """Invoice, late calls, full credit note, new invoice covering the late calls; totals add up."""
    first = invoice(stubs)
    late = send(stubs, [call("late", amount="4", group="Germany Fixed", started="2026-03-05T10:00:00Z")])
    assert late.late == 1
    credit(stubs, first.invoice_id, reason="re-rated: late calls")
    second = invoice(stubs)  # the period is free again
    assert second.number == "2"
    groups = {l.destination_group: l.amount for l in second.lines}
    assert groups == {"Germany Fixed": "14.01", "Germany Mobile": "20.50"}
    assert float(second.subtotal) == pytest.approx(float(first.subtotal) + 4)
    summary = stubs.usage.GetUsageSummary(usage_pb2.GetUsageSummaryRequest(reseller_id="r1", period=second.period))
    assert all(g.late.calls == 0 and g.unbilled.calls == 0 for g in summary.groups)


def test_a_partially_credited_invoice_still_blocks_its_period(stubs):
    inv = invoice(stubs)
    credit(stubs, inv.invoice_id, lines=[("Germany Fixed", "1.00")])
    with pytest.raises(grpc.RpcError) as err:
        invoice(stubs)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and inv.number in err.value.details()


def test_the_same_request_id_returns_the_same_credit_note_and_different_parameters_already_exist(stubs):
    inv = invoice(stubs)
    a = credit(stubs, inv.invoice_id, lines=[("Germany Fixed", "1.00")], request_id="cn-1")
    b = credit(stubs, inv.invoice_id, lines=[("Germany Fixed", "1.00")], request_id="cn-1")
    assert a.credit_note_id == b.credit_note_id and a.number == b.number
    assert code_of(credit, stubs, inv.invoice_id, lines=[("Germany Fixed", "2.00")],
                   request_id="cn-1") == grpc.StatusCode.ALREADY_EXISTS
    other = create(stubs, "2026-04-01", "2026-04-30", request_id="cn-1")  # another RPC's namespace
    assert other.number == "2"


def test_eight_threads_crediting_the_whole_invoice_exactly_one_succeeds(stubs):
    inv = invoice(stubs)
    barrier = threading.Barrier(8)

    def attempt(_):
        barrier.wait()
        try:
            return credit(stubs, inv.invoice_id).number
        except grpc.RpcError as e:
            return e.code()
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert [o for o in outcomes if isinstance(o, str)] == ["CN-1"]
    assert outcomes.count(grpc.StatusCode.FAILED_PRECONDITION) == 7
    got = stubs.invoices.GetInvoice(invoice_pb2.GetInvoiceRequest(invoice_id=inv.invoice_id))
    assert got.credited_total == inv.total


def test_void_and_credit_exclude_each_other(stubs):
    inv = invoice(stubs)
    credit(stubs, inv.invoice_id, lines=[("Germany Fixed", "1.00")])
    assert code_of(stubs.invoices.VoidInvoice, invoice_pb2.VoidInvoiceRequest(
        invoice_id=inv.invoice_id, reason="x")) == grpc.StatusCode.FAILED_PRECONDITION
    voided = create(stubs, "2026-04-01", "2026-04-30")
    stubs.invoices.VoidInvoice(invoice_pb2.VoidInvoiceRequest(invoice_id=voided.invoice_id, reason="never sent"))
    assert code_of(credit, stubs, voided.invoice_id) == grpc.StatusCode.FAILED_PRECONDITION
    credit(stubs, inv.invoice_id)
    assert code_of(credit, stubs, inv.invoice_id) == grpc.StatusCode.FAILED_PRECONDITION  # fully credited


@pytest.mark.parametrize("lines,reason,code,field", [
    ([("Germany Fixed", "1.001")], "r", grpc.StatusCode.INVALID_ARGUMENT, "lines[0].amount"),
    ([("Germany Fixed", "-1")], "r", grpc.StatusCode.INVALID_ARGUMENT, "lines[0].amount"),
    ([("Germany Fixed", "0")], "r", grpc.StatusCode.INVALID_ARGUMENT, "lines[0].amount"),
    ([("Germany Fixed", "1e2")], "r", grpc.StatusCode.INVALID_ARGUMENT, "lines[0].amount"),
    ([("Narnia", "1")], "r", grpc.StatusCode.INVALID_ARGUMENT, "lines[0].destination_group"),
    ([("Germany Fixed", "1"), ("Germany Fixed", "1")], "r", grpc.StatusCode.INVALID_ARGUMENT,
     "lines[1].destination_group"),
    ([("Germany Fixed", "10.02")], "r", grpc.StatusCode.FAILED_PRECONDITION, None),
    ([], "", grpc.StatusCode.INVALID_ARGUMENT, "reason"),
])
def test_bad_credit_requests_name_the_field_and_write_nothing(stubs, lines, reason, code, field):
    inv = invoice(stubs)
    before = stubs.event_count()
    with pytest.raises(grpc.RpcError) as err:
        credit(stubs, inv.invoice_id, reason=reason, lines=lines)
    assert err.value.code() == code
    if field:
        assert bad_request_fields(err.value) == [field]
    assert stubs.event_count() == before


def test_an_unknown_or_malformed_invoice_id_is_refused(stubs):
    assert code_of(credit, stubs, "00000000-0000-0000-0000-000000000000") == grpc.StatusCode.NOT_FOUND
    assert code_of(credit, stubs, "nope") == grpc.StatusCode.INVALID_ARGUMENT


def test_credit_notes_are_read_by_id_and_number_and_listed_newest_first(stubs):
    inv = invoice(stubs)
    a = credit(stubs, inv.invoice_id, lines=[("Germany Fixed", "1.00")])
    b = credit(stubs, inv.invoice_id, lines=[("Germany Fixed", "2.00")])
    by_number = stubs.credit_notes.GetCreditNote(credit_note_pb2.GetCreditNoteRequest(number="CN-2"))
    assert by_number.credit_note_id == b.credit_note_id and by_number.bill_to.name == "Zürich Telecom"
    listed = stubs.credit_notes.ListCreditNotes(credit_note_pb2.ListCreditNotesRequest(
        invoice_id=inv.invoice_id, min_position=b.position))
    assert [n.number for n in listed.credit_notes] == ["CN-2", "CN-1"]
    page = stubs.credit_notes.ListCreditNotes(credit_note_pb2.ListCreditNotesRequest(reseller_id="r1", page_size=1))
    assert [n.number for n in page.credit_notes] == ["CN-2"] and page.next_page_token
    assert stubs.credit_notes.ListCreditNotes(credit_note_pb2.ListCreditNotesRequest(
        reseller_id="nobody")).credit_notes == []
    assert code_of(stubs.credit_notes.GetCreditNote,
                   credit_note_pb2.GetCreditNoteRequest(number=inv.number)) == grpc.StatusCode.NOT_FOUND
    assert code_of(stubs.credit_notes.GetCreditNote, credit_note_pb2.GetCreditNoteRequest(
        credit_note_id=inv.invoice_id)) == grpc.StatusCode.INVALID_ARGUMENT
    assert a.number == "CN-1"


def test_the_invoice_list_and_search_show_credited_status_and_total(stubs):
    inv = invoice(stubs)
    note = credit(stubs, inv.invoice_id)
    listed = stubs.invoices.ListInvoices(invoice_pb2.ListInvoicesRequest(min_position=note.position)).invoices
    assert listed[0].status == invoice_pb2.INVOICE_STATUS_CREDITED and listed[0].credited_total == inv.total
    found = stubs.invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(
        query="zurich", status=invoice_pb2.INVOICE_STATUS_CREDITED, min_position=note.position)).invoices
    assert [i.invoice_id for i in found] == [inv.invoice_id]


def test_history_and_stream_carry_the_credit_events(stubs):
    inv = invoice(stubs)
    note = credit(stubs, inv.invoice_id)
    history = stubs.invoices.GetInvoiceHistory(invoice_pb2.GetInvoiceHistoryRequest(invoice_id=inv.invoice_id))
    assert [e.type for e in history.events] == ["Invoice.Issued", "Invoice.Credited"]
    topics = [e.topic for e in stubs.audit.StreamEvents(audit_pb2.StreamEventsRequest(from_position=1))]
    assert "domain.credit_note:CreditNote.Issued" in topics and "domain.invoice:Invoice.Credited" in topics
    assert note.position == max(e.position for e in stubs.audit.StreamEvents(audit_pb2.StreamEventsRequest()))


def test_credit_note_pdf_is_byte_identical_and_says_what_it_credits(stubs):
    from io import BytesIO

    from pypdf import PdfReader
    inv = invoice(stubs)
    note = credit(stubs, inv.invoice_id, reason="re-rated Germany Fixed", lines=[("Germany Fixed", "1.00")])
    request = credit_note_pb2.RenderCreditNotePdfRequest(credit_note_id=note.credit_note_id)
    first, second = stubs.credit_notes.RenderCreditNotePdf(request), stubs.credit_notes.RenderCreditNotePdf(request)
    assert first.content == second.content and first.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(first.content)).pages)
    assert "Credit note CN-1" in text
    assert f"Credit note for invoice {inv.number} of" in text and "re-rated Germany Fixed" in text
    assert "1.19 EUR" in text  # the total credited
    assert code_of(stubs.credit_notes.RenderCreditNotePdf, credit_note_pb2.RenderCreditNotePdfRequest(
        credit_note_id=note.credit_note_id, format=7)) == grpc.StatusCode.INVALID_ARGUMENT
    assert types_pb2.PDF_FORMAT_PLAIN  # the enum exists


def test_audit_verify_is_clean_after_credits_series_and_payments_and_names_a_tampered_credit_note(
        stubs, database_url):
    from billing.v1 import audit_pb2, numbering_pb2, payment_pb2
    from helpers import day_proto
    stubs.numbering.UpsertSeries(numbering_pb2.UpsertSeriesRequest(
        series_id="cn-x", kind=numbering_pb2.DOCUMENT_KIND_CREDIT_NOTE, pattern="X-%num%"))
    stubs.resellers.UpsertReseller(reseller(credit_note_series_id="cn-x"))
    inv = invoice(stubs)
    stubs.payments.RecordPayment(payment_pb2.RecordPaymentRequest(
        invoice_id=inv.invoice_id, amount="5", received_on=day_proto("2026-04-01")))
    credit(stubs, inv.invoice_id, lines=[("Germany Fixed", "1.00")])
    credit(stubs, inv.invoice_id)

    def verdict():
        last = None
        for last in stubs.audit.VerifyStore(audit_pb2.VerifyStoreRequest()):
            pass
        return last
    clean = verdict()
    assert clean.done and clean.ok, list(clean.problems)
    tamper = "UPDATE billing_documents SET number = 'X-99' WHERE number = 'X-2'"
    if database_url.startswith("sqlite"):
        import sqlite3
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
            db.execute(tamper)
    else:
        import psycopg
        with psycopg.connect(database_url, autocommit=True) as db:
            db.execute(tamper)
    found = verdict()
    assert not found.ok and any("credit note 'X-2'" in p for p in found.problems)
