"""The projection runner applies each event exactly once: across crashes mid-batch and restarts,
the read models equal a replay of the log (no duplicates, no gaps), on each backend."""
from datetime import date

import pytest

from domain.period import Period
from domain.reseller import ResellerTerms
from projections import rebuild, tracking
from projections.credit_note_list import CreditNoteList
from projections.invoice_list import InvoiceList
from projections.invoice_search import invoice_search
from projections.runner import ProjectionRunner
from service.audit.verify import verify
from service.bootstrap import build_use_cases
from service.config import parse_database_url
from service.event_store import EventStore


def open_store(database_url) -> EventStore:
    """The event store with its use cases (`store.uc`), without a server or a runner of its own."""
    store = EventStore(parse_database_url(database_url))
    store.uc = build_use_cases(store, runner=None, ingest_writer=None)
    return store


def open_app(database_url) -> EventStore:
    """`open_store` with the resellers r1 and r2."""
    store = open_store(database_url)
    for rid in ("r1", "r2"):
        store.uc.resellers.upsert(ResellerTerms.parse(reseller_id=rid, name=f"Reseller {rid}", currency="EUR",
                                                      time_zone="UTC", tax_rate="0.19"))
    return store


@pytest.fixture
def app(database_url):
    store = open_app(database_url)
    yield store
    store.close()


def issue(app, months) -> list:
    ids = []
    for m in months:
        for rid in ("r1", "r2"):
            invoice, _ = app.uc.invoicing.create(rid, Period.of(date(2026, m, 1), date(2026, m, 28)))
            ids.append(invoice.id)
    return ids


def drain(runner) -> int:
    failures = 0
    while True:
        try:
            if not runner.run_once():
                return failures
        except RuntimeError:
            failures += 1


class Crashing(InvoiceList):
    """Fails the n-th batch it is given (after writing part of it), like a crash mid-transaction."""

    def __init__(self, fail_on: int):
        self.calls, self.fail_on = 0, fail_on

    def apply(self, sql, generation, changes):
        super().apply(sql, generation, changes)
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("crash after writing rows, before commit")


def assert_equals_replay(app):
    report = verify(app, app.uc.invoicing.ledger, app.uc.invoicing.index)
    assert report.problems == [] and report.invoices > 0
    assert not report.notes, report.notes  # caught up to the head


def test_a_batch_that_fails_midway_is_rolled_back_and_applied_once(app):
    issue(app, range(1, 5))
    runner = ProjectionRunner(app, models=[Crashing(fail_on=3), invoice_search(app.backend.postgres),
                                           CreditNoteList()], batch_size=4)

    tracking.setup(app.backend, runner.models)
    assert drain(runner) == 1
    assert_equals_replay(app)


def test_a_batch_rolled_back_after_the_search_wrote_leaves_no_trace_of_it(app):
    """The search writes its rows and short sequences first, then another model fails: the retried batch
    stores them again (what the search learnt in the failed transaction is gone with it)."""
    issue(app, range(1, 5))
    runner = ProjectionRunner(app, models=[invoice_search(app.backend.postgres), Crashing(fail_on=2),
                                           CreditNoteList()], batch_size=4)
    tracking.setup(app.backend, runner.models)
    assert drain(runner) == 1
    assert_equals_replay(app)  # incl. every short sequence of every stored haystack


def test_a_restarted_runner_resumes_after_the_last_committed_batch(app, database_url):
    issue(app, range(1, 4))
    first = ProjectionRunner(app, batch_size=3).start()
    first.stop()  # may have applied everything, part, or nothing: all are fine
    issue(app, range(4, 7))
    reopened = open_store(database_url)
    try:
        second = ProjectionRunner(reopened, batch_size=5)
        from projections import tracking
        tracking.setup(reopened.backend, second.models)
        drain(second)
        assert_equals_replay(reopened)
        issue(reopened, range(7, 9))
        drain(second)
        assert_equals_replay(reopened)
    finally:
        reopened.close()


def test_two_runners_on_one_store_never_apply_a_batch_twice(app):
    issue(app, range(1, 7))

    a, b = ProjectionRunner(app, batch_size=2), ProjectionRunner(app, batch_size=3)
    tracking.setup(app.backend, a.models)
    while a.run_once() | b.run_once():
        pass
    assert_equals_replay(app)


def test_a_read_that_began_before_a_rebuild_reads_the_old_generation_to_its_end_on_sqlite(tmp_path):
    """SQLite drops the old tables right after the swap (no grace period): a read is one snapshot, so a
    read that found the old generation keeps reading its tables across the drop. (PostgreSQL keeps a
    grace period before the drop: projections/rebuild.py.)"""
    app = open_app(f"sqlite:///{tmp_path / 'billing.db'}")
    try:
        read_across_a_rebuild(app)
    finally:
        app.close()


def read_across_a_rebuild(app) -> None:
    issue(app, range(1, 3))
    runner = ProjectionRunner(app)
    tracking.setup(app.backend, runner.models)
    drain(runner)
    model = runner.model["invoice_list"]
    with app.backend.transaction(write=False) as sql:
        old = tracking.generation(sql, "invoice_list")
        rows = sql.execute(f"SELECT COUNT(*) FROM {model.table(old)}").fetchall()
        result = rebuild.rebuild(app, runner.models)  # swaps and drops meanwhile, in other transactions
        assert result.generation == old + 1
        assert sql.execute(f"SELECT COUNT(*) FROM {model.table(old)}").fetchall() == rows == [(4,)]
    with app.backend.transaction(write=False) as sql:
        assert tracking.generation(sql, "invoice_list") == old + 1
        assert sql.execute("SELECT name FROM sqlite_master WHERE name = ?", (model.table(old),)).fetchall() == []
