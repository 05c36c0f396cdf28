"""The SQLite connection pool (service/persistence/sqlite_store.py): one writer at a time, and reads
that never queue behind writers (WAL lets SQLite read beside a write)."""
import threading
from datetime import date

import pytest

from helpers import wait_until
from service.config import parse_database_url
from service.event_store import EventStore
from service.persistence.ledger import Ledger

MONTH = (date(2026, 3, 1), date(2026, 3, 31))


class WatchedLock:
    """The pool's writer lock, telling when somebody has to wait for it."""

    def __init__(self, lock):
        self.lock, self.waiting = lock, threading.Event()

    def acquire(self, blocking=True, timeout=-1):
        if self.lock.acquire(blocking=False):
            return True
        self.waiting.set()
        return self.lock.acquire(blocking, timeout)

    def release(self):
        self.lock.release()


@pytest.fixture
def store(tmp_path):
    store = EventStore(parse_database_url(f"sqlite:///{tmp_path}/pool.db"))
    yield store
    store.close()


def write_until(store, release: threading.Event, entered: list, name: str, errors: list):
    try:
        with store.backend.transaction() as sql:
            entered.append(name)
            sql.execute("UPDATE billing_documents SET status = status WHERE document_id = ?", ("none",))
            release.wait(30)
    except Exception as e:  # noqa: BLE001 - reported by the test
        errors.append(e)


def test_a_read_completes_while_a_write_is_in_flight_and_another_waits_for_it(store):
    pool = store.recorder.datastore.pool
    pool._writer_lock = watched = WatchedLock(pool._writer_lock)
    release, entered, errors = threading.Event(), [], []
    first = threading.Thread(target=write_until, args=(store, release, entered, "first writer", errors))
    second = threading.Thread(target=write_until, args=(store, release, entered, "second writer", errors))
    first.start()
    try:
        wait_until(lambda: entered == ["first writer"], 10, "the first write in flight")
        second.start()
        assert watched.waiting.wait(10)  # the second writer waits for the first
        Ledger(store.backend).period_usage("r1", *MONTH)
        entered.append("read")
    finally:
        release.set()
        for t in (first, second):
            t.join(30)
    assert entered == ["first writer", "read", "second writer"] and errors == []


def test_writers_take_turns(store):
    """Two writers never hold a write connection at the same time (SQLite's lock is not waited
    for in its busy handler's sleeps)."""
    inside, overlaps, lock = [0], [], threading.Lock()

    def writer():
        for _ in range(50):
            with store.backend.transaction():
                with lock:
                    inside[0] += 1
                    overlaps.append(inside[0])
                with lock:
                    inside[0] -= 1
    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(overlaps) == 200 and max(overlaps) == 1





def test_an_urgent_writer_goes_before_a_bulk_writer_that_waited_longer(store):
    """Call ingest writes as bulk: an invoice's save waiting for the writer slot goes first (issue #11:
    CreateInvoice waited behind call batches)."""
    slot = store.recorder.datastore.pool._writer_lock
    release, entered, errors = threading.Event(), [], []

    def write(name: str, bulk: bool, hold: threading.Event | None = None):
        try:
            with store.backend.transaction(bulk=bulk) as sql:
                entered.append(name)
                sql.execute("UPDATE billing_documents SET status = status WHERE document_id = ?", ("none",))
                if hold is not None:
                    hold.wait(30)
        except Exception as e:  # noqa: BLE001 - reported by the test
            errors.append(e)

    holder = threading.Thread(target=write, args=("holder", False, release))
    bulk = threading.Thread(target=write, args=("bulk (call batch)", True))
    urgent = threading.Thread(target=write, args=("urgent (invoice)", False))
    holder.start()
    try:
        wait_until(lambda: entered == ["holder"], 10, "the first write in flight")
        bulk.start()
        wait_until(lambda: slot.waiting() == 1, 10, "the bulk writer waiting")
        urgent.start()
        wait_until(lambda: slot.waiting() == 2, 10, "the urgent writer waiting too")
    finally:
        release.set()
        for t in (holder, bulk, urgent):
            t.join(30)
    assert entered == ["holder", "urgent (invoice)", "bulk (call batch)"] and errors == []


def test_a_bulk_writer_with_nobody_urgent_waiting_writes_at_once_and_a_timeout_is_reported(store):
    slot = store.recorder.datastore.pool._writer_lock
    with slot.bulk():
        assert slot.acquire(timeout=1)
        assert not slot.acquire(timeout=0.01)  # held: a second writer times out
        slot.release()
    with pytest.raises(RuntimeError):
        slot.release()
    assert slot.waiting() == 0


def test_dropping_a_table_does_not_write_its_freed_pages_again_through_the_wal(store, tmp_path):
    """secure_delete=FAST on every pooled connection: Debian's SQLite zeroes freed pages by default,
    which made a rebuild's drop of the old read-model tables write them all once more (seconds
    holding the writer slot)."""
    with store.backend.transaction(write=False) as sql:
        assert sql.execute("PRAGMA secure_delete").fetchall() == [(2,)]  # 2 = FAST
    with store.backend.transaction() as sql:
        sql.execute("CREATE TABLE scratch (id INTEGER PRIMARY KEY, doc TEXT)")
        sql.executemany("INSERT INTO scratch VALUES (?, ?)", [(i, "x" * 2000) for i in range(5000)])
    with store.backend.transaction() as sql:
        sql.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = tmp_path / "pool.db-wal"
    assert wal.stat().st_size < 1_000_000
    with store.backend.transaction() as sql:
        sql.execute("DROP TABLE scratch")
    assert wal.stat().st_size < 1_000_000  # ~10 MB of freed pages were zeroed through the WAL before
