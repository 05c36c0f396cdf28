"""The library's PostgreSQL factory, with server-side prepared statements switched off.

eventsourcing 9.5.6 inserts events in a psycopg pipeline with `prepare=True`. When such a
pipeline fails — as every lost optimistic-concurrency race does (two server processes
numbering invoices at once) — the PREPARE queued in it is rolled back while psycopg still
believes the statement exists, and the connection's next save fails with "prepared statement
_pg3_N does not exist" (seen as INTERNAL errors in the two-process test). With
`prepare_threshold = None` psycopg never prepares (its PrepareManager answers NO even for
prepare=True), which costs a parse per statement and removes the failure.
"""
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresFactory


class SnapshotRecorder(PostgresAggregateRecorder):
    """The snapshot store without the library's ten-fold retry (see PostgresBillingRecorder)."""

    select_events = PostgresAggregateRecorder.select_events.__wrapped__
    insert_events = PostgresAggregateRecorder.insert_events.__wrapped__


class TunedPostgresFactory(PostgresFactory):
    aggregate_recorder_class = SnapshotRecorder

    def __init__(self, env) -> None:
        super().__init__(env)
        pool = self.datastore.pool
        library_configure = pool._configure  # set by PostgresDatastore; the pool is not opened yet

        def configure(conn) -> None:
            library_configure(conn)
            conn.prepare_threshold = None

        pool._configure = configure
