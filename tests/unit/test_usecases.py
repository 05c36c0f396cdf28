"""The invoice and numbering use cases (Invoicing, NumberingAdmin) against in-memory fakes
(tests/unit/fakes.py): the service layer's rules, exact and fast, without a database."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from domain.invoice import InvoiceBook, InvoiceStatus
from domain.numbering import DocumentKind, Numbering
from helpers import wait_until
from unit.fakes import call, events, period, terms



# ---- Invoicing ---------------------------------------------------------------------------------
def test_creating_invoices_numbers_them_gap_free_and_claims_each_period(uc):
    first, pos1 = uc.invoicing.create("r1", period("2026-01-01", "2026-01-31"))
    second, pos2 = uc.invoicing.create("r1", period("2026-02-01", "2026-02-28"))
    assert [(i.number, i.sequence) for i in (first, second)] == [("1", 1), ("2", 2)] and pos2 > pos1 > 0
    assert uc.numbering.get()[0].next_number == 3
    book = uc.store.load(InvoiceBook.create_id("r1"), "book")
    assert sorted(v[2] for v in book.active.values()) == ["1", "2"]
    assert {r.number: r.status for r in uc.fake.documents.rows().values()} == {"1": "ISSUED", "2": "ISSUED"}


def test_an_invoice_totals_its_periods_calls_by_local_date_and_pins_the_template(uc):
    uc.ingest.record_calls([call("a", "2026-02-28T23:30:00", "1.005"),  # 1 March 00:30 in Berlin
                            call("b", "2026-03-31T21:59:59", "2", group="AT Fixed"),
                            call("c", "2026-03-31T22:00:00", "100")])  # 1 April 00:00 in Berlin
    invoice, _ = uc.invoicing.create("r1", period())
    assert [(line["destination_group"], line["calls"], line["amount"]) for line in invoice.lines] == [
        ("AT Fixed", 1, "2.00"), ("DE Mobile", 1, "1.01")]
    assert (invoice.subtotal, invoice.tax, invoice.total) == ("3.01", "0.57", "3.58")
    assert invoice.template_version == 4 and invoice.bill_to["name"] == "Reseller r1"
    assert invoice.covers_through == 1


def test_an_empty_period_gives_a_zero_invoice(uc):
    invoice, _ = uc.invoicing.create("r1", period())
    assert (invoice.lines, invoice.total, invoice.status) == ([], "0.00", InvoiceStatus.ISSUED)


def test_an_overlapping_period_names_the_other_invoice_and_uses_no_number(uc):
    uc.invoicing.create("r1", period("2026-03-01", "2026-03-15"))
    before = events(uc)
    with pytest.raises(FailedPrecondition, match="invoice 1 "):
        uc.invoicing.create("r1", period("2026-03-15", "2026-03-31"))
    assert events(uc) == before and uc.numbering.get()[0].next_number == 2
    assert uc.invoicing.create("r1", period("2026-03-16", "2026-03-31"))[0].number == "2"


def test_periods_of_different_resellers_never_overlap(uc):
    uc.resellers.upsert(terms("r2"))
    uc.invoicing.create("r1", period())
    assert uc.invoicing.create("r2", period())[0].number == "2"


def test_the_same_request_id_returns_the_same_invoice_and_writes_nothing(uc):
    first, position = uc.invoicing.create("r1", period(), request_id="req-1")
    before = events(uc)
    again, again_position = uc.invoicing.create("r1", period(), request_id="req-1")
    assert (again.id, again.number, again.total) == (first.id, first.number, first.total)
    assert events(uc) == before
    # The first answer carries the position of the save's last event (the book's claim), a repeat
    # the invoice's own latest event: both are read-your-writes safe, but they differ.
    assert again_position == uc.store.positions.of(first.id) <= position


@pytest.mark.parametrize("reseller_id,start", [("r1", "2026-04-01"), ("r2", "2026-03-01")])
def test_a_request_id_reused_with_other_parameters_already_exists(uc, reseller_id, start):
    uc.resellers.upsert(terms("r2"))
    uc.invoicing.create("r1", period(), request_id="req-1")
    with pytest.raises(AlreadyExists, match="req-1"):
        uc.invoicing.create(reseller_id, period(start, "2026-04-30"), request_id="req-1")


def test_a_request_id_is_at_most_255_characters(uc):
    uc.invoicing.create("r1", period(), request_id="x" * 255)
    with pytest.raises(InvalidArgument) as error:
        uc.invoicing.create("r1", period("2026-04-01", "2026-04-30"), request_id="x" * 256)
    assert error.value.field == "request_id"


def test_creating_for_an_unknown_reseller_is_not_found_and_writes_nothing(uc):
    before = events(uc)
    with pytest.raises(NotFound):
        uc.invoicing.create("nobody", period())
    assert events(uc) == before


def test_voiding_frees_the_period_and_keeps_the_number(uc):
    invoice, _ = uc.invoicing.create("r1", period())
    voided, _ = uc.invoicing.void(invoice.id, "wrong customer")
    assert (voided.status, voided.number, voided.void_reason) == ("VOID", "1", "wrong customer")
    assert uc.fake.documents.rows()[str(invoice.id)].status == "VOID"
    again, _ = uc.invoicing.create("r1", period())
    assert again.number == "2" and uc.invoicing.get(invoice.id)[0].number == "1"
    assert uc.invoicing.id_by_number("1") == invoice.id


def test_voiding_twice_is_a_failed_precondition(uc):
    invoice, _ = uc.invoicing.create("r1", period())
    uc.invoicing.void(invoice.id, "once")
    before = events(uc)
    with pytest.raises(FailedPrecondition, match="already void"):
        uc.invoicing.void(invoice.id, "twice")
    assert events(uc) == before


@pytest.mark.parametrize("reason", ["", "   ", "r" * 1001])
def test_a_void_needs_a_reason_of_1_to_1000_characters(uc, reason):
    invoice, _ = uc.invoicing.create("r1", period())
    with pytest.raises(InvalidArgument) as error:
        uc.invoicing.void(invoice.id, reason)
    assert error.value.field == "reason"


def test_voiding_an_unknown_invoice_is_not_found(uc):
    with pytest.raises(NotFound):
        uc.invoicing.void(Numbering.create_id(), "x")  # any id that names no invoice


def test_late_calls_are_counted_late_and_never_change_the_invoice(uc):
    uc.ingest.record_calls([call("a", amount="1")])
    invoice, _ = uc.invoicing.create("r1", period())
    result = uc.ingest.record_calls([call("late", "2026-03-20T12:00:00", "5"), call("next", "2026-04-02T12:00:00")])
    assert (result.accepted, result.late) == (2, 1)
    assert uc.invoicing.get(invoice.id)[0].total == invoice.total == "1.19"
    assert uc.invoicing.calculate("r1", period())[1].subtotal == "6.00"  # the preview sees every call
    uc.invoicing.void(invoice.id, "rebill")
    assert uc.invoicing.create("r1", period())[0].subtotal == "6.00"  # void + create bills the late call


def test_calls_arriving_between_reading_and_saving_are_covered_by_the_retry(uc):
    ledger, injected = uc.fake.ledger, []
    real_read = ledger.usage_and_watermark

    def read_then_a_call_arrives(*args):
        answer = real_read(*args)
        if not injected:
            injected.append(ledger.record([call("racer", amount="3")]))
        return answer
    ledger.usage_and_watermark = read_then_a_call_arrives
    invoice, _ = uc.invoicing.create("r1", period())
    assert injected[0].accepted == 1 and invoice.subtotal == "3.00" and invoice.number == "1"
    assert uc.numbering.get()[0].next_number == 2


# ---- creates saved together (service/usecases/group_commit.py) -----------------------------------
def create_queued(uc, requests: list[tuple[str, object]]) -> list:
    """Create each (reseller_id, period) from its own thread while the test holds the counter lock, so
    all of them queue and one leader saves them; returns each create's invoice or exception."""
    pool = ThreadPoolExecutor(len(requests))
    with uc.fake.counter_lock:
        futures = [pool.submit(uc.invoicing.create, rid, p) for rid, p in requests]
        wait_until(lambda: uc.invoicing.creates.queued == len(requests), 10, "every create queued")
    outcomes = [f.exception(timeout=10) or f.result()[0] for f in futures]
    pool.shutdown()
    return outcomes


def count_saves(uc) -> list:
    """Every save_recorded call's number of aggregates (the fake store's saves are recorded)."""
    saves, real = [], uc.store.save_recorded

    def recording(*aggregates, **kw):
        saves.append(len(aggregates))
        return real(*aggregates, **kw)
    uc.store.save_recorded = recording
    return saves


def test_creates_queued_behind_the_counter_are_numbered_gap_free_in_one_save(uc):
    for rid in ("r2", "r3", "r4", "r5"):
        uc.resellers.upsert(terms(rid))
        uc.ingest.record_calls([call(f"c-{rid}", reseller_id=rid, amount="2")])
    saves = count_saves(uc)
    invoices = create_queued(uc, [(rid, period()) for rid in ("r1", "r2", "r3", "r4", "r5")])
    assert sorted(i.sequence for i in invoices) == [1, 2, 3, 4, 5] and uc.numbering.get()[0].next_number == 6
    assert saves == [5 + 1 + 5]  # five invoices, the counter and five books in ONE save
    assert [i.total for i in invoices] == ["0.00"] + ["2.38"] * 4
    assert {r.number for r in uc.fake.documents.rows().values()} == {"1", "2", "3", "4", "5"}


def test_a_group_whose_save_aborts_is_saved_alone_one_by_one(uc):
    uc.resellers.upsert(terms("r2"))
    uc.resellers.upsert(terms("r3"))
    ledger, injected = uc.fake.ledger, []
    real_read = ledger.usage_and_watermark

    def r2_gets_a_call_after_reading(reseller_id, *args):
        answer = real_read(reseller_id, *args)
        if reseller_id == "r2" and not injected:  # the group's save re-checks r2's usage and aborts
            injected.append(ledger.record([call("racer", reseller_id="r2", amount="3")]))
        return answer
    ledger.usage_and_watermark = r2_gets_a_call_after_reading
    saves = count_saves(uc)
    outcomes = create_queued(uc, [("r1", period()), ("r2", period()), ("r3", period())])
    assert outcomes[1].subtotal == "3.00" and injected[0].accepted == 1  # r2's retry has the racer's call
    assert sorted(o.sequence for o in outcomes) == [1, 2, 3] and uc.numbering.get()[0].next_number == 4
    assert saves[0] == 7 and len(saves) == 4  # the group's save aborted (UsageChanged), then each alone


def test_a_taken_number_in_a_group_writes_nothing_then_only_its_create_is_refused_naming_the_series(uc):
    uc.numbering.upsert_series("twin", DocumentKind.INVOICE, "%num%", 1)  # numbers "1", "2"... like `invoices`
    uc.resellers.upsert(terms("r2"))
    uc.resellers.upsert(terms("r3", invoice_series_id="twin"))
    uc.invoicing.create("r1", period("2026-01-01", "2026-01-31"))  # "1" is taken
    saves = count_saves(uc)
    r2, r3 = create_queued(uc, [("r2", period()), ("r3", period())])
    assert isinstance(r3, FailedPrecondition) and "series twin" in str(r3)
    assert (r2.number, r2.sequence) == ("2", 2) and uc.numbering.get_series("twin").next_number == 1
    assert saves[0] == 6 and len(saves) == 2  # the group's save (2 invoices, 2 counters, 2 books) wrote
    # nothing (the number is UNIQUE in the index), then r2 alone; r3's look-up refused it before any save
    assert sorted(r.number for r in uc.fake.documents.rows().values()) == ["1", "2"]


def test_an_overlapping_period_is_refused_without_waiting_for_the_counter(uc):
    uc.invoicing.create("r1", period("2026-03-01", "2026-03-10"))
    with uc.fake.counter_lock:  # a create holding the counter does not delay the refusal
        with pytest.raises(FailedPrecondition, match="invoice 1 "):
            uc.invoicing.create("r1", period("2026-03-05", "2026-03-31"))
    assert uc.invoicing.creates.queued == 0


def test_two_creates_of_one_reseller_in_a_group_both_succeed_on_the_newest_book(uc):
    march, april = period("2026-03-01", "2026-03-31"), period("2026-04-01", "2026-04-30")
    first, second = create_queued(uc, [("r1", march), ("r1", april)])
    assert {first.sequence, second.sequence} == {1, 2}
    book = uc.store.load(InvoiceBook.create_id("r1"), "book")
    assert sorted(v[0] for v in book.active.values()) == ["2026-03-01", "2026-04-01"]


def test_calculating_writes_nothing(uc):
    uc.ingest.record_calls([call("a")])
    before = events(uc)
    reseller, totals = uc.invoicing.calculate("r1", period())
    assert reseller.reseller_id == "r1" and totals.total == "1.49" and events(uc) == before


def test_an_invoice_keeps_the_bill_to_it_was_issued_with(uc):
    invoice, _ = uc.invoicing.create("r1", period())
    uc.resellers.upsert(terms("r1", name="Renamed"))
    assert uc.invoicing.get(invoice.id)[0].bill_to["name"] == "Reseller r1"


def test_an_unknown_invoice_number_is_not_found(uc):
    with pytest.raises(NotFound):
        uc.invoicing.id_by_number("404")
    with pytest.raises(InvalidArgument):
        uc.invoicing.id_by_number("")


# ---- NumberingAdmin --------------------------------------------------------------------------
def test_numbering_is_the_default_until_configured(uc):
    numbering, position = uc.numbering.get()
    assert (numbering.pattern, numbering.next_number, position) == ("%num%", 1, 0)


def test_a_new_pattern_and_start_number_the_next_invoice(uc):
    numbering, position = uc.numbering.update("INV-%year%-%num%", 100001)
    assert (numbering.pattern, numbering.next_number) == ("INV-%year%-%num%", 100001) and position > 0
    invoice, _ = uc.invoicing.create("r1", period())
    assert invoice.number == f"INV-{invoice.issue_date[:4]}-100001" and invoice.sequence == 100001
    assert uc.invoicing.create("r1", period("2026-04-01", "2026-04-30"))[0].sequence == 100002


def test_an_empty_pattern_or_zero_start_keeps_the_current_value(uc):
    uc.numbering.update("A%num%", 10)
    assert (uc.numbering.update("", 20)[0].pattern, uc.numbering.update("B%num%", 0)[0].next_number) == ("A%num%", 20)


def test_a_start_below_the_next_number_is_refused(uc):
    uc.invoicing.create("r1", period())
    uc.invoicing.create("r1", period("2026-04-01", "2026-04-30"))
    with pytest.raises(FailedPrecondition, match="below the next number 3"):
        uc.numbering.update("", 2)
    assert uc.numbering.update("", 3)[0].next_number == 3


@pytest.mark.parametrize("pattern", ["INV", "%num%%num%", "%num%-%week%"])
def test_an_invalid_pattern_is_refused_and_changes_nothing(uc, pattern):
    with pytest.raises(InvalidArgument):
        uc.numbering.update(pattern, 5)
    assert uc.numbering.get()[1] == 0
