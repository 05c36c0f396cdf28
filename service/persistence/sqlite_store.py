"""The library's SQLite factory, with our durability setting on every pooled connection.

SQLite runs in WAL mode (the library switches it on). `synchronous=NORMAL` (our default)
keeps every committed transaction through a crash of the server process and never lets a
transaction be half applied; only an OS crash or power loss can drop the last commits.
`FULL` also survives those, at the price of one fsync per commit (measured here: ~2.9 ms per
invoice, ~9 % of ingest). For production durability use PostgreSQL.

`secure_delete=FAST` on every connection: Debian's SQLite is built with secure delete ON, which
zeroes every freed page and so writes a dropped table once more through the WAL (a rebuild's drop
of the old read-model generation: 2.4 s for 200 MB, 0.1 s with FAST; issue #11). FAST (upstream's
recommendation) still zeroes deleted content inside the pages it writes anyway. What gets freed
here is read-model rows and rollup cells, copies of what the event log keeps; no event is deleted.
"""
import threading
import time
from contextlib import contextmanager
from typing import ContextManager, Iterator

from eventsourcing.persistence import ConnectionUnavailableError
from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteCursor, SQLiteDatastore, SQLiteFactory

SYNCHRONOUS_MODES = ("NORMAL", "FULL")
POOL_SIZE, MAX_OVERFLOW = 16, 48  # gRPC workers + storing threads + runner + rebuilds, with room


class WriterSlot:
    """The pool's one writer slot (a lock), granted to waiting urgent writers before bulk ones.

    Call ingest marks its writes as bulk (`bulk()`); everything else (an invoice's save, a reseller
    update, the read models' batch) is urgent. Under mixed load the slot is busy almost all the
    time, and a plain lock let an invoice's save wait behind several call batches (issue #11:
    CreateInvoice waited p50 21 ms for the writer, ingest 32 ms). Now it waits for at most the
    write in progress. A bulk writer waits while urgent ones are queued; urgent writes are short
    and few (creates are saved in groups), so ingest is delayed, never stopped.
    """

    def __init__(self):
        self._changed = threading.Condition(threading.Lock())
        self._held = False
        self._urgent_waiting = 0
        self._waiting = 0
        self._local = threading.local()

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Writes of this thread inside wait for every urgent writer queued."""
        before = getattr(self._local, "bulk", False)
        self._local.bulk = True
        try:
            yield
        finally:
            self._local.bulk = before

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        urgent = not getattr(self._local, "bulk", False)
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        with self._changed:
            self._waiting += 1
            self._urgent_waiting += urgent
            try:
                while self._held or (not urgent and self._urgent_waiting):
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if not blocking or (remaining is not None and remaining <= 0):
                        return False
                    self._changed.wait(remaining)
                self._held = True
                return True
            finally:
                self._waiting -= 1
                self._urgent_waiting -= urgent

    def release(self) -> None:
        with self._changed:
            if not self._held:
                raise RuntimeError("release of a writer slot that is not held")
            self._held = False
            self._changed.notify_all()

    def waiting(self) -> int:
        """Writers waiting for the slot now, urgent and bulk (for tests and diagnostics)."""
        return self._waiting


class _TunedPool(SQLiteConnectionPool):
    """The library's pool, with our `synchronous` setting and readers that never queue behind writers.

    The library hands out connections through one fair queue, and a writer waits for the single
    writer slot while at the head of that queue: under load every read (an aggregate load, a
    search) waited for the call batch being written and for every writer queued before it (issue
    #11: CreateInvoice's loads queued behind ingest). SQLite in WAL mode reads beside a writer,
    so here a writer takes the writer slot *before* joining the queue; a read only waits for a
    free connection. Still one writer at a time in this process (SQLite's lock is not fair:
    its busy handler sleeps in steps of milliseconds).
    """

    synchronous = "NORMAL"

    def _create_connection(self) -> SQLiteConnection:
        conn = super()._create_connection()
        conn._sqlite_conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn._sqlite_conn.execute("PRAGMA secure_delete=FAST")
        return conn

    def get_connection(self, timeout: float | None = None, *, is_writer: bool | None = None) -> SQLiteConnection:
        if is_writer is not True or self._mutually_exclusive_read_write:
            return super().get_connection(timeout, is_writer=None if is_writer is False else is_writer)
        timeout = self.pool_timeout if timeout is None else timeout
        started = time.monotonic()
        if not self._writer_lock.acquire(timeout=timeout):
            raise ConnectionUnavailableError("Timed out waiting for return of writer")
        try:
            conn = super().get_connection(max(0.0, timeout - (time.monotonic() - started)), is_writer=None)
        except BaseException:
            self._writer_lock.release()
            raise
        self._num_writers += 1
        conn.is_writer = True  # put_connection releases the writer slot
        return conn


class _SessionDatastore(SQLiteDatastore):
    """The library's datastore, plus read sessions and bulk writes (`bulk()`, see WriterSlot): inside
    `reading()` every read transaction of the thread (aggregate loads, index and ledger queries) runs
    on one connection in one snapshot.

    A CreateInvoice reads the reseller, the period's usage, the book, the template catalogue and
    more, and each read was a transaction of its own: a pooled connection taken and returned, a
    BEGIN and a ROLLBACK around one SELECT (issue #11: 16 transactions per create). Writes are never
    part of a session: they take the writer connection as before, and a session must not wait for
    anything that waits for them (its snapshot would be stale).
    """

    _session: threading.local

    @contextmanager
    def reading(self) -> Iterator[None]:
        session = self._session
        if getattr(session, "connection", None) is not None or self.pool._mutually_exclusive_read_write:
            yield  # nested: one session; in-memory databases: readers would block this thread's writes
            return
        connection = self.pool.get_connection(is_writer=False)
        try:
            connection._sqlite_conn.execute("BEGIN")
            session.connection = connection
            try:
                yield
            finally:
                session.connection = None
                connection.rollback()
        finally:
            self.pool.put_connection(connection)

    def bulk(self) -> ContextManager[None]:
        """Writes of this thread inside let urgent writers go first (WriterSlot)."""
        return self.pool._writer_lock.bulk()

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[SQLiteCursor]:
        connection = None if commit else getattr(self._session, "connection", None)
        if connection is None:
            with super().transaction(commit=commit) as cursor:
                yield cursor
            return
        cursor = connection.cursor()
        with cursor:  # closed after use, like the library's
            yield cursor


class TunedSQLiteFactory(SQLiteFactory):
    def __init__(self, env) -> None:
        super().__init__(env)
        self.datastore.__class__ = _SessionDatastore
        self.datastore._session = threading.local()
        pool = self.datastore.pool
        pool.__class__ = _TunedPool  # before the first connection is opened
        pool._writer_lock = WriterSlot()
        pool.pool_size, pool.max_overflow = POOL_SIZE, MAX_OVERFLOW
        mode = (env.get("SQLITE_SYNCHRONOUS") or "NORMAL").upper()
        if mode not in SYNCHRONOUS_MODES:  # config validates it; never guess a durability level
            raise ValueError(f"SQLITE_SYNCHRONOUS: want one of {', '.join(SYNCHRONOUS_MODES)}, got {mode!r}")
        pool.synchronous = mode
