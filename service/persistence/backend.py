"""One small SQL interface over the eventsourcing datastores of SQLite and PostgreSQL."""
import threading
import zlib
from contextlib import ExitStack, contextmanager, nullcontext
from typing import ContextManager
from typing import Any, Iterable, Iterator

from psycopg.rows import tuple_row


class Sql:
    """A cursor wrapper: `?` placeholders, tuple rows, and the per-reseller lock, on both backends."""

    def __init__(self, cursor: Any, postgres: bool):
        if postgres:
            cursor.row_factory = tuple_row  # the library's cursors make dicts; SUM() columns share a name
        self.cursor = cursor
        self.postgres = postgres
        self.memo: dict = {}  # what a caller learnt in this transaction (gone with it, commit or rollback)

    def _q(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def execute(self, statement: str, params: tuple | list = ()) -> "Sql":
        self.cursor.execute(self._q(statement), params)
        return self

    def executemany(self, statement: str, rows: list) -> int:
        """Run the statement once per row; returns the number of rows changed in total."""
        if not rows:
            return 0
        self.cursor.executemany(self._q(statement), rows)
        return getattr(self.cursor, "sqlite_cursor", self.cursor).rowcount

    def fetchall(self) -> list[tuple]:
        return [tuple(r) for r in self.cursor.fetchall()]

    def lock_resellers(self, reseller_ids: Iterable[str]) -> None:
        """Serialise writers touching the same resellers (ingest vs invoice vs terms change).

        SQLite already has a single writer; PostgreSQL takes transaction-scoped
        advisory locks, in sorted order so two writers never deadlock.
        """
        if self.postgres:
            for rid in sorted(set(reseller_ids)):
                self.cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", lock_key(rid))


def lock_key(reseller_id: str) -> tuple[int, int]:
    return 7001, zlib.crc32(reseller_id.encode()) - 2**31


class Backend:
    """Transactions on the application's own datastore (so ledger and events share a database)."""

    def __init__(self, datastore: Any, postgres: bool):
        self.datastore = datastore
        self.postgres = postgres
        self._local: dict[str, threading.Lock] = {}
        self._local_guard = threading.Lock()

    @contextmanager
    def local_locks(self, reseller_ids: Iterable[str]) -> Iterator[None]:
        """In-process per-reseller locks (SQLite's deployment is one process)."""
        with ExitStack() as stack:
            if not self.postgres:
                for rid in sorted(set(reseller_ids)):
                    with self._local_guard:
                        lock = self._local.setdefault(rid, threading.Lock())
                    stack.enter_context(lock)
            yield

    @contextmanager
    def reseller_guard(self, reseller_id: str) -> Iterator[None]:
        """Keep the reseller's call ingest out while an invoice is calculated and saved.

        Without it, a steady stream of calls could change the period's usage between
        calculation and save on every retry. PostgreSQL: a session advisory lock (all
        processes); SQLite: the in-process lock the ingest path takes too.
        """
        if not self.postgres:
            with self.local_locks([reseller_id]):
                yield
            return
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s, %s)", lock_key(reseller_id))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", lock_key(reseller_id))

    def _bulk(self) -> ContextManager[None]:
        bulk = getattr(self.datastore, "bulk", None)  # SQLite's datastore (sqlite_store.py)
        return bulk() if bulk is not None else nullcontext()

    def reading(self) -> ContextManager[None]:
        """A read session: the reads of this thread inside it share one connection (SQLite: and one
        snapshot, service/persistence/sqlite_store.py; PostgreSQL: each read still sees the latest
        commit, service/persistence/postgres_store.py). Never save, or wait for a save, inside one."""
        session = getattr(self.datastore, "reading", None)
        return session() if session is not None else nullcontext()

    @contextmanager
    def transaction(self, write: bool = True, bulk: bool = False) -> Iterator[Sql]:
        """A transaction; `bulk` writes (call ingest) let urgent writers go first on SQLite, whose one
        writer slot they share (service/persistence/sqlite_store.py: WriterSlot)."""
        if not self.postgres:
            with self._bulk() if bulk else nullcontext(), self.datastore.transaction(commit=write) as cursor:
                yield Sql(cursor, False)
            return
        with self.datastore.get_connection() as conn, conn.transaction():
            with conn.cursor() as cursor:
                yield Sql(cursor, True)


@contextmanager
def schema_lock(dsn: dict | None) -> Iterator[None]:
    """Serialise table creation across server processes starting together on one PostgreSQL
    database (CREATE TABLE IF NOT EXISTS races otherwise fail with a duplicate-type error)."""
    if dsn is None:
        yield
        return
    import psycopg

    with psycopg.connect(autocommit=True, **dsn) as conn:
        conn.execute("SELECT pg_advisory_lock(7002, 0)")
        yield
