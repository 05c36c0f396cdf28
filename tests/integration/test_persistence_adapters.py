"""One conformance suite per persistence adapter (service/persistence/), run on SQLite and PostgreSQL:
the call ledger (ingest and reads), the document index and its side writes, the reseller index and
its side write, event positions and the event log. Each test opens a fresh store."""
from datetime import date, datetime, timezone

import pytest

from domain.calls import CallInput
from domain.errors import FailedPrecondition, InvalidArgument
from domain.invoice import InvoiceStatus, UsageRow
from domain.numbering import DocumentKind, Numbering
from domain.reseller import Reseller, ResellerTerms
from service.config import parse_database_url
from service.event_store import EventStore
from service.persistence import ledger as ledger_module
from service.persistence.document_index import (DocumentIndex, DocumentIssuedWrite, DocumentStatusWrite,
                                                SeriesCreatedWrite, UsageChanged)
from service.persistence.errors import is_conflict
from service.persistence.ledger import Ledger
from service.persistence.reseller_index import ResellerIndex, ResellerTermsWrite

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture
def store(database_url):
    store = EventStore(parse_database_url(database_url))
    yield store
    store.close()


@pytest.fixture
def ledger(store):
    register(store, "r1")
    return Ledger(store.backend)


def register(store, reseller_id, currency="EUR", time_zone="Europe/Berlin", changed=False) -> Reseller:
    terms = ResellerTerms.parse(reseller_id=reseller_id, name=f"Reseller {reseller_id}", currency=currency,
                                time_zone=time_zone, tax_rate="0.19")
    reseller = Reseller(reseller_id, terms.as_dict())
    store.save_all(reseller, side_writes=(ResellerTermsWrite(reseller_id, currency, time_zone, changed),))
    return reseller


def call(call_id, when="2026-03-10T10:00:00", amount="1.25", group="DE Mobile", reseller_id="r1", currency="EUR",
         seconds=60) -> CallInput:
    started = int(datetime.fromisoformat(when).replace(tzinfo=timezone.utc).timestamp())
    return CallInput(call_id, reseller_id, started, 0, seconds, "49151", group, amount, currency)


def usage(group="DE Mobile", calls=1, seconds=60, units=1, nanos=250_000_000) -> UsageRow:
    return UsageRow(group, calls, seconds, units, nanos)


def issued(store, ledger, document_id="inv-1", number="1", sequence=1, start=MARCH[0], end=MARCH[1],
           reseller_id="r1") -> DocumentIssuedWrite:
    """Index an invoice for the period (its usage as it stands), like CreateInvoice's side write."""
    write = DocumentIssuedWrite(document_id, DocumentKind.INVOICE, reseller_id, number, "invoices", sequence, start,
                                end, tuple(ledger.period_usage(reseller_id, start, end)))
    with store.backend.transaction() as sql:
        write.run(sql)
    return write


def set_status(store, document_id, status, reseller_id="r1") -> None:
    with store.backend.transaction() as sql:
        DocumentStatusWrite(document_id, reseller_id, status).run(sql)


# ---- Ledger.record -----------------------------------------------------------------------------
def test_new_calls_are_all_accepted_and_summed_per_group(ledger):
    result = ledger.record([call("a"), call("b", amount="0.75", seconds=30), call("c", group="AT", amount="2")])
    assert (result.accepted, result.duplicates, result.late, result.rejected) == (3, 0, 0, [])
    assert sorted(ledger.period_usage("r1", *MARCH)) == [UsageRow("AT", 1, 60, 2, 0),
                                                         UsageRow("DE Mobile", 2, 90, 1, 1_000_000_000)]


def test_a_call_sent_again_is_a_duplicate_and_changes_nothing(ledger):
    ledger.record([call("a"), call("b")])
    before = ledger.period_usage("r1", *MARCH)
    result = ledger.record([call("a"), call("b"), call("c")])
    assert (result.accepted, result.duplicates, result.rejected) == (1, 2, [])
    assert ledger.record([call("d"), call("d")]).duplicates == 1  # twice in one batch: the first wins
    assert sorted(ledger.period_usage("r1", *MARCH))[0].calls == before[0].calls + 2


def test_a_large_resent_batch_is_all_duplicates(ledger):
    batch = [call(f"c{i:05d}", amount=f"0.{i:04d}") for i in range(1200)]  # > one 500-id lookup
    assert ledger.record(batch).accepted == 1200
    changed = batch[:599] + [batch[599]._replace(billed_seconds=61)] + batch[600:]
    result = ledger.record(changed, base=5)
    assert (result.accepted, result.duplicates, result.rejected) == (
        0, 1199, [(604, "c00599", "call_id already stored with different content")])


def test_the_same_id_with_different_content_is_rejected_never_merged(ledger):
    ledger.record([call("a", amount="1")])
    result = ledger.record([call("x"), call("a", amount="2"), call("y", group="AT"), call("y", group="DE")], base=100)
    assert result.accepted == 2 and result.duplicates == 0
    assert result.rejected == [(101, "a", "call_id already stored with different content"),
                               (103, "y", "call_id already stored with different content")]
    assert sorted(ledger.period_usage("r1", *MARCH))[1] == UsageRow("DE Mobile", 2, 120, 2, 250_000_000)


@pytest.mark.parametrize("reseller_id", ["nobody", "", "nul\x00id", "x" * 200])
def test_calls_of_an_unknown_reseller_are_rejected_and_the_rest_kept(ledger, reseller_id):
    result = ledger.record([call("a"), call("b", reseller_id=reseller_id)])
    assert result.accepted == 1 and [r[:2] for r in result.rejected] == [(1, "b")]
    assert result.rejected[0][2].startswith("unknown reseller ")


@pytest.mark.parametrize("reseller_id", ["Acme\u00a0GmbH", "r\x7f1", "r\u200b1"])
def test_a_reseller_id_no_call_could_name_is_refused_at_registration(ledger, store, reseller_id):
    """Calls name resellers by printable ids only, so a registration must not accept anything else."""
    with pytest.raises(InvalidArgument) as refused:
        register(store, reseller_id)
    assert refused.value.field == "reseller_id"


def test_a_call_in_another_currency_is_rejected(ledger):
    result = ledger.record([call("a", currency="USD"), call("b")])
    assert result.accepted == 1 and result.rejected == [(0, "a", "currency 'USD' is not the reseller's EUR")]


def test_malformed_calls_are_rejected_with_their_stream_index(ledger):
    bad = call("m", amount="1e3")
    missing = call("s")._replace(started_s=None)
    result = ledger.record([bad, call("ok"), missing], base=7)
    assert result.accepted == 1
    assert result.rejected == [(7, "m", "malformed amount (want a decimal string like 0.0125)"),
                               (9, "s", "missing started_at")]


def test_a_batch_is_all_or_nothing_when_the_rollup_write_fails(ledger, monkeypatch):
    ledger.record([call("before")])
    watermark = ledger.usage_and_watermark("r1", *MARCH)[1]
    for name in ("ROLLUP_UPSERT", "INSERT_STAGED"):  # SQLite's rollup statement; PostgreSQL's insert-and-roll-up
        broken = getattr(ledger_module, name).replace("INSERT INTO billing_call_rollups", "INSERT INTO no_such_table")
        monkeypatch.setattr(ledger_module, name, broken)
    with pytest.raises(Exception):
        ledger.record([call("a"), call("b")])
    monkeypatch.undo()
    assert ledger.usage_and_watermark("r1", *MARCH) == ([usage()], watermark)
    assert ledger.record([call("a"), call("b")]).accepted == 2  # nothing of the failed batch was kept


def test_rollups_equal_the_raw_call_rows(ledger, store):
    register(store, "r2", currency="JPY", time_zone="Asia/Kathmandu")
    days = ["2026-02-28T23:30:00", "2026-03-01T00:10:00", "2026-03-15T12:00:00", "2026-03-31T21:59:59",
            "2026-03-31T22:00:00", "2026-04-01T00:00:00"]
    for batch in range(3):
        calls = [call(f"{batch}-{i}-{g}", when, f"{i}.00{batch}", g, seconds=i + batch)
                 for i, when in enumerate(days) for g in ("DE", "AT")]
        calls += [call(f"{batch}-jp-{i}", when, str(i), "JP", "r2", "JPY") for i, when in enumerate(days)]
        ledger.record(calls)
        if batch == 0:
            issued(store, ledger, start=date(2026, 3, 10), end=date(2026, 3, 20))  # later batches are late there
    for rid in ("r1", "r2"):
        for start, end in (MARCH, (date(2026, 2, 1), date(2026, 4, 30)), (date(2026, 3, 1), date(2026, 3, 1))):
            raw = next(ledger.covered_usages([(rid, start, end, 10**9)]))
            assert sorted(ledger.period_usage(rid, start, end)) == sorted(raw)
            rollups, _ = ledger.rollups_and_active(rid, start, end)
            assert sum(r.calls for r in rollups) == sum(u.calls for u in raw)
            assert sum(r.amount_units * 10**9 + r.amount_nanos for r in rollups) == \
                sum(u.amount_units * 10**9 + u.amount_nanos for u in raw)


def test_a_call_on_a_day_covered_by_an_active_invoice_is_late_for_it(ledger, store):
    ledger.record([call("a")])
    issued(store, ledger, "inv-1", start=date(2026, 3, 1), end=date(2026, 3, 10))
    result = ledger.record([call("late", "2026-03-10T22:59:59"), call("next-day", "2026-03-10T23:00:00")])
    assert (result.accepted, result.late) == (2, 1)
    rollups, active = ledger.rollups_and_active("r1", *MARCH)
    assert [(p.invoice_id, date.fromordinal(p.start_day), date.fromordinal(p.end_day)) for p in active] == [
        ("inv-1", date(2026, 3, 1), date(2026, 3, 10))]
    assert sorted((date.fromordinal(r.local_day).day, r.late_for, r.calls) for r in rollups) == [
        (10, "", 1), (10, "inv-1", 1), (11, "", 1)]
    set_status(store, "inv-1", InvoiceStatus.VOID)
    assert ledger.record([call("after-void", "2026-03-05T12:00:00")]).late == 0


# ---- ledger reads ------------------------------------------------------------------------------
def test_usage_is_summed_over_local_days_of_the_resellers_zone(ledger):
    ledger.record([call("feb", "2026-02-28T22:59:59"), call("mar", "2026-02-28T23:00:00"),
                   call("apr", "2026-03-31T22:00:00")])
    assert ledger.period_usage("r1", *MARCH) == [usage()]
    assert ledger.period_usage("r1", date(2026, 3, 2), date(2026, 3, 30)) == []
    assert ledger.period_usage("nobody", *MARCH) == []


def test_the_watermark_advances_once_per_batch_of_the_reseller(ledger, store):
    register(store, "r2")
    assert ledger.usage_and_watermark("r1", *MARCH) == ([], 0)
    ledger.record([call("a"), call("b")])
    ledger.record([call("c")])
    ledger.record([call("x", reseller_id="r2")])
    rows, watermark = ledger.usage_and_watermark("r1", *MARCH)
    assert watermark == 2 and rows[0].calls == 3
    assert ledger.usage_and_watermark("r2", *MARCH)[1] == 1
    assert ledger.usage_and_watermark("nobody", *MARCH) == ([], 0)


def test_covered_usage_excludes_batches_stored_after_the_watermark(ledger):
    ledger.record([call("a", amount="1")])
    first = ledger.usage_and_watermark("r1", *MARCH)[1]
    ledger.record([call("b", amount="2"), call("c", "2026-04-02T10:00:00", "4")])
    second = ledger.usage_and_watermark("r1", *MARCH)[1]
    covered = list(ledger.covered_usages([("r1", *MARCH, first), ("r1", *MARCH, second), ("r1", *MARCH, 0)]))
    assert covered == [[UsageRow("DE Mobile", 1, 60, 1, 0)], [UsageRow("DE Mobile", 2, 120, 3, 0)], []]


# ---- DocumentIndex -----------------------------------------------------------------------------
def test_an_issued_document_is_found_by_number_and_its_period_is_active(ledger, store):
    index = DocumentIndex(store.backend)
    issued(store, ledger, "inv-1", "INV-1", 1)
    issued(store, ledger, "inv-2", "INV-2", 2, date(2026, 4, 1), date(2026, 4, 30))
    assert index.find("INV-2") == ("inv-2", DocumentKind.INVOICE) and index.find("INV-3") is None
    assert sorted(p.invoice_id for p in index.active_periods("r1")) == ["inv-1", "inv-2"]
    assert index.active_periods("r2") == []
    row = index.rows()["inv-1"]
    assert (row.reseller_id, row.number, row.series_id, row.sequence, row.status) == ("r1", "INV-1", "invoices", 1,
                                                                                     "ISSUED")
    assert (date.fromordinal(row.start_day), date.fromordinal(row.end_day)) == MARCH


def test_credit_notes_share_the_number_space_but_claim_no_period(ledger, store):
    index = DocumentIndex(store.backend)
    issued(store, ledger, "inv-1", "1", 1)
    with store.backend.transaction() as sql:
        DocumentIssuedWrite("cn-1", DocumentKind.CREDIT_NOTE, "r1", "CN-1", "credit-notes", 1, *MARCH).run(sql)
    assert index.find("CN-1") == ("cn-1", DocumentKind.CREDIT_NOTE)
    assert [p.invoice_id for p in index.active_periods("r1")] == ["inv-1"]
    numbering = Numbering()
    clash = DocumentIssuedWrite("cn-2", DocumentKind.CREDIT_NOTE, "r1", "1", "credit-notes", 2, *MARCH)
    with pytest.raises(Exception) as error:
        store.save_all(numbering, side_writes=(clash,))
    assert is_conflict(error.value) and "cn-2" not in index.rows()


def test_a_status_write_takes_the_period_out_of_the_active_ones(ledger, store):
    index = DocumentIndex(store.backend)
    issued(store, ledger, "inv-1", "1", 1)
    set_status(store, "inv-1", InvoiceStatus.VOID)
    assert index.active_periods("r1") == [] and index.find("1") == ("inv-1", DocumentKind.INVOICE)
    assert index.rows()["inv-1"].status == "VOID"


def test_an_issued_write_refuses_when_the_usage_changed_and_writes_nothing(ledger, store):
    ledger.record([call("a")])
    stale = DocumentIssuedWrite("inv-1", DocumentKind.INVOICE, "r1", "1", "invoices", 1, *MARCH, ())
    with pytest.raises(UsageChanged):
        with store.backend.transaction() as sql:
            stale.run(sql)
    numbering = Numbering()
    with pytest.raises(UsageChanged) as error:
        store.save_all(numbering, side_writes=(stale,))
    assert is_conflict(error.value)  # retried by the use case
    assert DocumentIndex(store.backend).rows() == {} and store.positions.of(numbering.id) == 0


def test_an_issued_write_checks_the_usage_against_the_batch_watermark_it_was_read_with(ledger, store):
    """The watermark read with the usage (CreateInvoice's calculation) proves the usage unchanged when
    no batch of the reseller was stored since; after one, the sums decide: a call of the period
    refuses the write, a call of another period does not."""
    def write(document_id, number):
        return DocumentIssuedWrite(document_id, DocumentKind.INVOICE, "r1", number, "invoices", int(number), *MARCH,
                                   tuple(read[0]), read[1])

    ledger.record([call("a")])
    read = ledger.usage_and_watermark("r1", *MARCH)
    assert read == ([usage()], 1)
    with store.backend.transaction() as sql:
        write("inv-1", "1").run(sql)
    ledger.record([call("b")])  # the period's usage changed
    with pytest.raises(UsageChanged):
        with store.backend.transaction() as sql:
            write("inv-2", "2").run(sql)
    read = ledger.usage_and_watermark("r1", *MARCH)
    ledger.record([call("c", when="2026-04-10T10:00:00")])  # the watermark moves, the period's usage does not
    with store.backend.transaction() as sql:
        write("inv-3", "3").run(sql)
    assert set(DocumentIndex(store.backend).rows()) == {"inv-1", "inv-3"}


def test_the_documents_of_one_save_are_checked_and_written_together_or_not_at_all(ledger, store):
    """A group of creates saves several invoices (and a credit note may sit beside them): one read of
    the resellers' watermarks, one insert. A stale invoice among them, or a number twice, refuses the
    whole save; nothing of it is written."""
    register(store, "r2")
    ledger.record([call("a"), call("b", reseller_id="r2")])
    reads = {rid: ledger.usage_and_watermark(rid, *MARCH) for rid in ("r1", "r2")}

    def invoice(document_id, rid, number, read=None):
        usage_rows, watermark = read or reads[rid]
        return DocumentIssuedWrite(document_id, DocumentKind.INVOICE, rid, number, "invoices", int(number), *MARCH,
                                   tuple(usage_rows), watermark)

    note = DocumentIssuedWrite("cn-1", DocumentKind.CREDIT_NOTE, "r1", "CN-1", "credit-notes", 1, *MARCH)
    stale = invoice("inv-3", "r2", "3", read=([], 0))  # calculated before r2's call arrived
    twin = invoice("inv-4", "r2", "1")
    for bad in (stale, twin):
        with pytest.raises(Exception) as error:
            store.save_all(Numbering(), side_writes=(invoice("inv-1", "r1", "1"), note, bad))
        assert is_conflict(error.value) and DocumentIndex(store.backend).rows() == {}
    statements = []
    with store.backend.transaction() as sql:
        counting = CountingSql(sql, statements)
        DocumentIssuedWrite.run_all(counting, [invoice("inv-1", "r1", "1"), invoice("inv-2", "r2", "2"), note])
    assert statements == ["SELECT", "INSERT"]  # the watermarks of both resellers at once, then every row
    rows = DocumentIndex(store.backend).rows()
    assert {d: (r.reseller_id, r.number, r.kind) for d, r in rows.items()} == {
        "inv-1": ("r1", "1", "INVOICE"), "inv-2": ("r2", "2", "INVOICE"), "cn-1": ("r1", "CN-1", "CREDIT_NOTE")}


class CountingSql:
    """An Sql that notes the first word of every statement it runs (executemany counts once)."""

    def __init__(self, sql, seen: list):
        self.sql, self.seen, self.postgres = sql, seen, sql.postgres

    def execute(self, statement, params=()):
        self.seen.append(statement.split()[0])
        self.sql.execute(statement, params)
        return self

    def executemany(self, statement, rows):
        self.seen.append(statement.split()[0])
        return self.sql.executemany(statement, rows)

    def fetchall(self):
        return self.sql.fetchall()


def test_a_number_taken_twice_is_a_conflict_that_stores_no_events(ledger, store):
    issued(store, ledger, "inv-1", "1", 1)
    numbering = Numbering()
    twin = DocumentIssuedWrite("inv-2", DocumentKind.INVOICE, "r1", "1", "invoices", 2, date(2026, 4, 1),
                               date(2026, 4, 30), ())
    with pytest.raises(Exception) as error:
        store.save_all(numbering, side_writes=(twin,))
    assert is_conflict(error.value) and store.positions.of(numbering.id) == 0
    assert list(DocumentIndex(store.backend).rows()) == ["inv-1"]


def test_side_writes_commit_with_the_events(ledger, store):
    numbering = Numbering()
    numbering.take("inv-1", date(2026, 4, 1))
    write = DocumentIssuedWrite("inv-1", DocumentKind.INVOICE, "r1", "1", "invoices", 1, *MARCH, ())
    position = store.save_all(numbering, side_writes=(write,))
    assert position == store.positions.of(numbering.id) > 0
    assert DocumentIndex(store.backend).find("1") == ("inv-1", DocumentKind.INVOICE)


def test_created_series_are_listed_in_id_order(store):
    index = DocumentIndex(store.backend)
    with store.backend.transaction() as sql:
        for sid in ("zeta", "alpha", "mid", "alpha"):
            SeriesCreatedWrite(sid, DocumentKind.INVOICE).run(sql)
    assert index.series_after("", 2) == [("alpha", "INVOICE"), ("mid", "INVOICE")]
    assert index.series_after("mid", 5) == [("zeta", "INVOICE")]


# ---- ResellerIndex -----------------------------------------------------------------------------
def test_reseller_ids_page_in_order(store):
    for rid in ("b", "a", "c", "aa"):
        register(store, rid)
    index = ResellerIndex(store.backend)
    assert index.ids_after("", 2) == ["a", "aa"]
    assert index.ids_after("aa", 10) == ["b", "c"]
    assert index.ids_after("c", 10) == []


def test_currency_may_change_until_the_reseller_has_calls(ledger, store):
    reseller = store.load(Reseller.create_id("r1"), "r1")
    reseller.change(ResellerTerms.parse(reseller_id="r1", name="n", currency="CHF", time_zone="UTC",
                                        tax_rate="0").as_dict())
    store.save_all(reseller, side_writes=(ResellerTermsWrite("r1", "CHF", "UTC", True),))
    assert ledger.record([call("a", currency="CHF")]).accepted == 1
    refused = store.load(Reseller.create_id("r1"), "r1")
    version = refused.version
    refused.change({**refused.terms.as_dict(), "currency": "EUR"})
    with pytest.raises(FailedPrecondition, match="once the reseller has calls"):
        store.save_all(refused, side_writes=(ResellerTermsWrite("r1", "EUR", "UTC", True),))
    assert store.load(Reseller.create_id("r1"), "r1").version == version  # no event stored
    assert ledger.record([call("b", currency="CHF")]).accepted == 1  # the index kept CHF


def test_calls_of_another_reseller_do_not_block_a_currency_change(ledger, store):
    register(store, "r2")
    ledger.record([call("a")])
    with store.backend.transaction() as sql:
        ResellerTermsWrite("r2", "CHF", "UTC", True).run(sql)
    assert ledger.record([call("b", reseller_id="r2", currency="CHF")]).accepted == 1


def test_other_changes_after_calls_keep_the_watermark(ledger, store):
    ledger.record([call("a")])
    with store.backend.transaction() as sql:
        ResellerTermsWrite("r1", "EUR", "Europe/Berlin", False).run(sql)
    assert ledger.usage_and_watermark("r1", *MARCH)[1] == 1


# ---- EventPositions and EventLog ---------------------------------------------------------------
def test_positions_of_aggregates_and_the_version_before_another(store):
    numbering = Numbering()
    assert store.positions.of(numbering.id) == 0
    first = store.save_all(numbering)
    numbering.take("x", date(2026, 1, 1))
    second = store.save_all(numbering)
    anchor = register(store, "anchor")
    numbering.take("y", date(2026, 1, 1))
    store.save_all(numbering)
    assert 0 < first < second < store.positions.of(anchor.id) < store.positions.of(numbering.id)
    assert store.positions.version_before(numbering.id, anchor.id) == 2
    assert store.positions.version_before(anchor.id, numbering.id) == 0


def test_the_event_log_reads_forwards_from_a_position_and_backwards_below_one(store):
    assert store.event_log.head() == 0 and store.event_log.before(10, 5) == []
    numbering = Numbering()
    store.save_all(numbering)
    for i in range(4):
        numbering.take(f"d{i}", date(2026, 1, 1))
        store.save_all(numbering)
    head = store.event_log.head()
    assert head == store.positions.of(numbering.id) == 5
    forwards = store.event_log.after(2, 2)
    assert [(n.id, n.originator_version) for n in forwards] == [(2, 2), (3, 3)]
    assert [n.id for n in store.event_log.after(1, 10, stop=3)] == [1, 2, 3]
    advanced = [t for t in {n.topic for n in store.event_log.after(1, 10)} if t.endswith(".Advanced")]
    assert [n.id for n in store.event_log.after(1, 10, topics=advanced)] == [2, 3, 4, 5]
    backwards = store.event_log.before(head, 3)
    assert [n.id for n in backwards] == [4, 3, 2] and [n.id for n in store.event_log.before(head + 1, 1)] == [5]
    assert backwards[0].originator_id == numbering.id and backwards[1].state == forwards[1].state
    assert store.decode(backwards[0]).number == 3
