"""Application recorders that also run the side writes of a save in the events' transaction."""
from itertools import groupby
from typing import Any, Sequence

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL

from service.persistence.backend import Sql
from service.persistence.schema import statements


class SQLiteBillingRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return super().construct_create_table_statements() + statements(sqlite=True)

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any):
        # Events first: the INSERT takes SQLite's write lock, so the side writes'
        # reads below see the latest committed state.
        ids = super()._insert_events(c, stored_events, **kwargs)
        run_side_writes(Sql(c, postgres=False), kwargs.get("side_writes", ()))
        return ids


class PostgresBillingRecorder(PostgresApplicationRecorder):
    # The library retries these ten times on any OperationalError, a database that is down
    # included (ten pool timeouts before a client hears anything). service/retry.py decides
    # instead: a conflict is retried with backoff, an unreachable database is UNAVAILABLE at
    # once. Stale pooled connections are caught by the pool's pre-ping (environment.py).
    select_events = PostgresAggregateRecorder.select_events.__wrapped__
    insert_events = PostgresApplicationRecorder.insert_events.__wrapped__
    select_notifications = PostgresApplicationRecorder.select_notifications.__wrapped__
    max_notification_id = PostgresApplicationRecorder.max_notification_id.__wrapped__

    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend(SQL(t) for t in statements(sqlite=False))  # type: ignore[arg-type]

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        # Runs before the library locks the events table; side writes take only
        # per-reseller advisory locks, so the lock order is always the same.
        run_side_writes(Sql(curs, postgres=True), kwargs.get("side_writes", ()))


def run_side_writes(sql: Sql, writes: Sequence[Any]) -> None:
    """Run a save's side writes in order; consecutive writes of a kind that can run several at once
    (a `run_all(sql, writes)`, e.g. the documents of a group of creates) run together."""
    for kind, same in groupby(writes, type):
        run_all = getattr(kind, "run_all", None)
        if run_all is not None:
            run_all(sql, list(same))
        else:
            for write in same:
                write.run(sql)
