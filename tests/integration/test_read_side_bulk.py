"""The bulk reads of the read side (audit verify, rebuild) give exactly what the one-by-one reads give,
on SQLite and PostgreSQL."""
import random
from datetime import date, datetime, timedelta, timezone

import pytest

from domain.calls import CallInput
from domain.invoice import UsageRow
from domain.reseller import Reseller, ResellerTerms
from service.config import parse_database_url
from service.event_store import EventStore
from service.persistence import ledger_queries
from service.persistence.ledger import Ledger
from service.persistence.reseller_index import ResellerTermsWrite
from service.persistence.document_index import DocumentIndex
from service.audit.verify import verify
from projections.rebuild import rebuild

from billing.v1 import invoice_pb2, projection_pb2, projection_pb2_grpc
from helpers import Stubs, call, create, credit, reseller, send


@pytest.fixture
def store(database_url):
    store = EventStore(parse_database_url(database_url))
    yield store
    store.close()


def register(store, reseller_id, time_zone):
    terms = ResellerTerms.parse(reseller_id=reseller_id, name=f"Reseller {reseller_id}", currency="EUR",
                                time_zone=time_zone, tax_rate="0.19")
    store.save_all(Reseller(reseller_id, terms.as_dict()),
                   side_writes=(ResellerTermsWrite(reseller_id, "EUR", time_zone, False),))


def test_usages_from_the_call_sums_of_many_invoices_equal_covered_usage_of_each(store):
    rng = random.Random(3)
    for rid, zone in (("r1", "Europe/Berlin"), ("r2", "America/New_York"), ("r3", "UTC")):
        register(store, rid, zone)
    ledger = Ledger(store.backend)
    first = datetime(2026, 2, 20, tzinfo=timezone.utc)
    for batch in range(12):  # 12 batches: the watermarks below cut through them
        calls = []
        for i in range(40):
            started = first + timedelta(seconds=rng.randrange(50 * 86400))
            calls.append(CallInput(f"b{batch}-{i}", rng.choice(["r1", "r2", "r2", "r3"]),
                                   int(started.timestamp()), 0, rng.randint(1, 900), "49151",
                                   rng.choice(["DE Mobile", "AT", "US"]), f"{rng.randint(0, 5_000_000) / 1e6:.6f}",
                                   "EUR"))
        assert not ledger.record(calls).rejected
    keys = []
    for rid in ("r1", "r2", "r3", "nobody"):
        for start, end in ((date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 3, 1), date(2026, 3, 1)),
                           (date(2026, 1, 1), date(2026, 12, 31)), (date(2026, 3, 15), date(2026, 4, 2)),
                           (date(2025, 1, 1), date(2025, 1, 31))):
            for through in (0, 1, 5, 11, 12, 10**9):  # the same period again (void, re-issue) with other watermarks
                keys.append((rid, start, end, through))
    with store.backend.transaction(write=False) as sql:
        bulk = ledger_queries.usages_from_sums(ledger_queries.call_sums(sql), keys)
        one_by_one = [sorted(ledger_queries.covered_usage(sql, *key)) for key in keys]
    assert bulk == one_by_one
    assert sum(row.calls for rows in bulk for row in rows) > 0
    assert any(rows for rows in bulk) and any(not rows for rows in bulk)


def test_the_whole_store_day_sums_add_up_to_each_periods_usage_and_every_watermark_is_read(store):
    rng = random.Random(5)
    for rid, zone in (("r1", "Europe/Berlin"), ("r2", "UTC")):
        register(store, rid, zone)
    ledger = Ledger(store.backend)
    first = datetime(2026, 3, 1, tzinfo=timezone.utc)
    for batch in range(3):
        calls = [CallInput(f"d{batch}-{i}", rng.choice(["r1", "r2"]), int((first + timedelta(
                     seconds=rng.randrange(20 * 86400))).timestamp()), 0, rng.randint(1, 900), "49151",
                           rng.choice(["DE Mobile", "AT"]), f"{rng.randint(0, 5_000_000) / 1e6:.6f}", "EUR")
                 for i in range(50)]
        assert not ledger.record(calls).rejected
    with store.backend.transaction(write=False) as sql:
        sums, seqs = ledger_queries.rollup_day_sums(sql), ledger_queries.batch_seqs(sql)
        period = (date(2026, 3, 5), date(2026, 3, 14))
        expected = {rid: sorted(ledger_queries.period_usage(sql, rid, *period)) for rid in ("r1", "r2")}
        watermarks = {rid: ledger_queries.batch_seq(sql, rid) for rid in ("r1", "r2")}
    for rid in ("r1", "r2"):
        groups: dict[str, list[int]] = {}
        for r, day, group, c, s, u, n in sums:
            if r == rid and period[0].toordinal() <= int(day) <= period[1].toordinal():
                g = groups.setdefault(group, [0, 0, 0, 0])
                for k, v in enumerate((c, s, u, n)):
                    g[k] += int(v)
        assert sorted(UsageRow(group, *groups[group]) for group in groups) == expected[rid]
    assert seqs == watermarks and set(seqs) == {"r1", "r2"} and all(seqs.values())


# ---- a rebuild (no indexes while it fills, then indexes, FTS and statistics) serves the same searches ----
QUERIES = ["", "zurich", "berlin voice", "r2", "2", "zz", "/", "10.01", "2026-04", "qqq", "r1 2026"]


def search_all(stubs) -> dict:
    found = {}
    for q in QUERIES:
        for status in (invoice_pb2.INVOICE_STATUS_UNSPECIFIED, invoice_pb2.INVOICE_STATUS_VOID):
            for reseller_id in ("", "r2"):
                response = stubs.invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(
                    query=q, status=status, reseller_id=reseller_id, page_size=2))
                pages = [[(i.invoice_id, i.position, i.status, i.total) for i in response.invoices]]
                while response.next_page_token:
                    response = stubs.invoices.SearchInvoices(invoice_pb2.SearchInvoicesRequest(
                        query=q, status=status, reseller_id=reseller_id, page_size=2,
                        page_token=response.next_page_token))
                    pages.append([(i.invoice_id, i.position, i.status, i.total) for i in response.invoices])
                found[(q, status, reseller_id)] = pages
    return found


def index_names(database_url: str, table: str) -> set[str]:
    if database_url.startswith("sqlite:///"):
        import sqlite3
        with sqlite3.connect(database_url[len("sqlite:///"):]) as conn:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                                               (table,))}
    import psycopg
    with psycopg.connect(database_url) as conn:
        return {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (table,))}


def test_a_rebuilt_generation_has_its_indexes_and_answers_every_search_as_before(server, channel, database_url):
    s = Stubs(channel)
    s.resellers.UpsertReseller(reseller())
    s.resellers.UpsertReseller(reseller("r2", name="Berlin Voice"))
    send(s, [call("a", amount="10.005"), call("b", amount="5.5", group="Germany Fixed"),
             call("c", reseller_id="r2", amount="1", started="2026-04-02T10:00:00Z")])
    made = [create(s, f"2026-{m:02d}-01", f"2026-{m:02d}-28", reseller_id=rid) for m in (3, 4, 5) for rid in ("r1", "r2")]
    s.invoices.VoidInvoice(invoice_pb2.VoidInvoiceRequest(invoice_id=made[-1].invoice_id, reason="typo"))
    note = credit(s, made[0].invoice_id, lines=[("Germany Fixed", "1.00")])
    before = search_all(s)
    for _ in range(2):
        last = None
        for last in projection_pb2_grpc.ProjectionServiceStub(channel).RebuildProjections(
                projection_pb2.RebuildProjectionsRequest()):
            pass
        assert last.events_applied == last.events_total >= note.position
        assert search_all(s) == before
    assert {"proj_invoice_search_3_ord", "proj_invoice_search_3_reseller_id", "proj_invoice_list_3_ord",
            "proj_invoice_list_3_reseller_id", "proj_credit_note_list_3_invoice_id"} <= \
        index_names(database_url, "proj_invoice_search_3") | index_names(database_url, "proj_invoice_list_3") | \
        index_names(database_url, "proj_credit_note_list_3")
    if database_url.startswith("postgres"):
        assert "proj_invoice_search_3_trgm" in index_names(database_url, "proj_invoice_search_3")
    report = verify(server.store, Ledger(server.store.backend), DocumentIndex(server.store.backend))
    assert report.problems == [] and not report.notes and report.invoices == len(made)
    for batch_size in (1, 2, 3):  # pages that end mid-window, windows with no invoice event at all
        for _ in range(3):
            s.resellers.UpsertReseller(reseller(f"x{batch_size}-{_}", name="No Invoices"))
        result = rebuild(server.store, server.runner.models, batch_size=batch_size, grace_seconds=0)
        assert result.invoice_events == len(made) + 3 and search_all(s) == before  # 6 issued, 1 void, 1 credit, 1 note
        report = verify(server.store, Ledger(server.store.backend), DocumentIndex(server.store.backend))
        assert report.problems == [] and not report.notes


def test_audit_verify_adds_up_the_call_sums_after_its_read_transaction_ended(tmp_path, monkeypatch):
    """PostgreSQL ends a session idle in a transaction after 5 s; adding up 1M calls' sums in Python
    inside the read transaction took about that long (issue #11: a verify failed on a busy machine).
    Checked on SQLite, whose pool counts the connections in use."""
    from service.audit import verify as audit_verify
    store = EventStore(parse_database_url(f"sqlite:///{tmp_path / 'sums.db'}"))
    pool, in_use = store.recorder.datastore.pool, []
    adding_up = ledger_queries.usages_from_sums

    def watched(rows, invoices):
        in_use.append(pool.num_in_use)
        return adding_up(rows, invoices)
    monkeypatch.setattr(ledger_queries, "usages_from_sums", watched)
    try:
        audit_verify.check_calls(Ledger(store.backend), [], audit_verify.Report())
    finally:
        store.close()
    assert in_use == [0]
