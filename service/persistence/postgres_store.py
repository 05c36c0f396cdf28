"""The library's PostgreSQL factory, with server-side prepared statements switched off.

eventsourcing 9.5.6 inserts events in a psycopg pipeline with `prepare=True`. When such a
pipeline fails — as every lost optimistic-concurrency race does (two server processes
numbering invoices at once) — the PREPARE queued in it is rolled back while psycopg still
believes the statement exists, and the connection's next save fails with "prepared statement
_pg3_N does not exist" (seen as INTERNAL errors in the two-process test). With
`prepare_threshold = None` psycopg never prepares (its PrepareManager answers NO even for
prepare=True), which costs a parse per statement and removes the failure.
"""
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from eventsourcing.postgres import PostgresAggregateRecorder, PostgresDatastore, PostgresFactory


class SnapshotRecorder(PostgresAggregateRecorder):
    """The snapshot store without the library's ten-fold retry (see PostgresBillingRecorder)."""

    select_events = PostgresAggregateRecorder.select_events.__wrapped__
    insert_events = PostgresAggregateRecorder.insert_events.__wrapped__


class _SessionDatastore(PostgresDatastore):
    """The library's datastore, plus read sessions: inside `reading()` every connection the thread
    asks for is one pooled connection. Each checkout costs a round trip (the pool's pre-ping) and a
    CreateInvoice read through eight of them (issue #11); its reads now take one. Statements stay
    autocommit (each sees the latest commit), so a session never reads an old snapshot."""

    _session: threading.local

    @contextmanager
    def reading(self) -> Iterator[None]:
        if getattr(self._session, "connection", None) is not None:
            yield  # nested: one session
            return
        with super().get_connection() as connection:
            self._session.connection = connection
            try:
                yield
            finally:
                self._session.connection = None

    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        connection = getattr(self._session, "connection", None)
        if connection is None:
            with super().get_connection() as connection:
                yield connection
            return
        yield connection


class TunedPostgresFactory(PostgresFactory):
    aggregate_recorder_class = SnapshotRecorder

    def __init__(self, env) -> None:
        super().__init__(env)
        self.datastore.__class__ = _SessionDatastore
        self.datastore._session = threading.local()
        pool = self.datastore.pool
        library_configure = pool._configure  # set by PostgresDatastore; the pool is not opened yet

        def configure(conn) -> None:
            library_configure(conn)
            conn.prepare_threshold = None

        pool._configure = configure
