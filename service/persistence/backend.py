"""One small SQL interface over the eventsourcing datastores of SQLite and PostgreSQL."""
import zlib
from contextlib import contextmanager
from typing import Any, Iterator

from psycopg.rows import tuple_row


class Sql:
    """A cursor wrapper: `?` placeholders, tuple rows, and the per-reseller lock, on both backends."""

    def __init__(self, cursor: Any, postgres: bool):
        self.cursor = cursor
        self.postgres = postgres

    def _q(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def execute(self, statement: str, params: tuple | list = ()) -> "Sql":
        self.cursor.execute(self._q(statement), params)
        return self

    def executemany(self, statement: str, rows: list) -> None:
        if rows:
            self.cursor.executemany(self._q(statement), rows)

    def fetchall(self) -> list[tuple]:
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in self.cursor.fetchall()]

    def lock_resellers(self, reseller_ids) -> None:
        """Serialise writers touching the same resellers (ingest vs invoice vs terms change).

        SQLite already has a single writer; PostgreSQL takes transaction-scoped
        advisory locks, in sorted order so two writers never deadlock.
        """
        if self.postgres:
            for rid in sorted(set(reseller_ids)):
                key = zlib.crc32(rid.encode()) - 2**31
                self.cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", (7001, key))


class Backend:
    """Transactions on the application's own datastore (so ledger and events share a database)."""

    def __init__(self, datastore: Any, postgres: bool):
        self.datastore = datastore
        self.postgres = postgres

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Sql]:
        if not self.postgres:
            with self.datastore.transaction(commit=write) as cursor:
                yield Sql(cursor, False)
            return
        with self.datastore.get_connection() as conn, conn.transaction():
            with conn.cursor(row_factory=tuple_row) as cursor:
                yield Sql(cursor, True)
