"""Rebuild read models from the event log into a new table generation, then swap atomically.

The live tables keep serving (and the runner keeps applying to them) while the new
generation fills — without its secondary indexes, which are built once the rows are in
(and, on PostgreSQL, the new tables analysed) — then the swap transaction holds the
tracking rows, applies the last events, and points the tracking rows at the new
generation. Old tables are then dropped: on SQLite at once (a read is one transaction, one
snapshot: one that read the old generation's tracking row keeps the old tables in its snapshot
to its end, even across the drop), on PostgreSQL after a short grace period, so in-flight reads
of them finish rather than queue behind the drop's lock (a read that still meets a dropped
table reads again: ProjectionRunner.query).
"""
import time
from dataclasses import dataclass
from typing import Callable, Iterator
from uuid import UUID

from eventsourcing.persistence import Notification

from projections import tracking
from projections.documents import TOPICS, to_changes
from projections.model import ReadModel

REBUILD_BATCH = 5000  # events the read models apply per page (and per transaction)
WINDOW = 4  # a page reads at most WINDOW x REBUILD_BATCH positions of the log
CHUNK = 250  # events turned into rows at a time
POSTGRES_GRACE_SECONDS = 1.0  # between the swap and dropping the old tables (see the module's docstring)
Progress = Callable[[int, int], None]  # (position reached, head position)


@dataclass(frozen=True)
class RebuildResult:
    generation: int
    position: int
    events: int  # log events covered (positions 1..position)
    invoice_events: int  # of which the read models applied
    seconds: float


def rebuild(store, models: list[ReadModel] | None = None, progress: Progress = lambda done, head: None,
            batch_size: int = REBUILD_BATCH, grace_seconds: float | None = None) -> RebuildResult:
    """Run `rebuild_steps` to the end, reporting each step to `progress`."""
    steps = rebuild_steps(store, models, batch_size, grace_seconds)
    while True:
        try:
            progress(*next(steps))
        except StopIteration as done:
            return done.value


def rebuild_steps(store, models: list[ReadModel] | None = None, batch_size: int = REBUILD_BATCH,
                  grace_seconds: float | None = None) -> Iterator[tuple[int, int]]:
    """Yield (position reached, head) as the new generation fills; the last step is after the swap
    (position == head). Returns the RebuildResult. Only invoice events are read (the log's other
    events change no read model)."""
    backend, started = store.backend, time.perf_counter()
    models = models or tracking.default_models(backend.postgres)
    state, _ = tracking.setup(backend, models)
    new = max(g for g, _ in state.values()) + 1
    with backend.transaction() as sql:
        for m in models:
            drop(sql, m, new)  # leftovers of an interrupted rebuild
            m.create(sql, new, indexes=False)  # filled first, indexed after: one sort instead of N inserts
    head = store.event_log.head()
    position, applied = yield from _apply_until(store, models, new, 0, head, batch_size)
    with backend.transaction() as sql:  # outside the swap: the runner is not held up meanwhile
        for m in models:
            m.create_indexes(sql, new)
    with backend.transaction() as sql:
        tracking.lock_state(sql, models)  # the runner waits here until the swap commits
        final = store.event_log.head()
        _, more = yield from _apply_until(store, models, new, position, final, batch_size, sql)
        for m in models:
            tracking.set_state(sql, m.name, new, final)
        tracking.record_shapes(sql, models)
    yield final, final
    if grace_seconds is None:
        grace_seconds = POSTGRES_GRACE_SECONDS if backend.postgres else 0.0
    time.sleep(grace_seconds)  # in-flight reads of the old tables finish before they are dropped
    with backend.transaction() as sql:
        for m in models:
            if state[m.name][0] != new:
                drop(sql, m, state[m.name][0])
    return RebuildResult(new, final, final, applied + more, time.perf_counter() - started)


def _apply_until(store, models, generation: int, position: int, stop: int, batch_size: int, sql=None):
    """Apply the invoice events in (position, stop]; each batch commits unless `sql` is given.
    Yields (position, stop) per batch; returns (stop, events applied)."""
    applied = 0
    while position < stop:
        notifications, reached = read_log(store, position + 1, stop, batch_size)
        if notifications and sql is not None:
            _apply(sql, models, generation, store, notifications)
        elif notifications:
            with store.backend.transaction() as batch_sql:
                _apply(batch_sql, models, generation, store, notifications)
        position, applied = reached, applied + len(notifications)
        yield position, stop
    return stop, applied


def read_log(store, start: int, stop: int, limit: int) -> tuple[list[Notification], int]:
    """The read models' events from position `start` on, at most `limit` and none after `stop`, in order,
    and the position read up to. One plain query per page for just the columns the documents need
    (the library's generic page costs ~3x more per event on SQLite), over a bounded window of
    positions, so PostgreSQL plans a range scan even when the events table has no statistics
    (without the bound, an unanalysed table gets a scan and an on-disk sort of the rest of the
    log for every page)."""
    end = min(stop, start + WINDOW * limit - 1)
    postgres = store.backend.postgres
    pos = "notification_id" if postgres else "rowid"
    query = (f"SELECT {pos}, originator_id, originator_version, topic, state FROM {store.event_log.table} "
             f"WHERE {pos} >= ? AND {pos} <= ? AND topic IN ({','.join('?' * len(TOPICS))}) ORDER BY {pos} LIMIT ?")
    params = (start, end, *TOPICS, limit)
    with store.backend.transaction(write=False) as sql:
        if postgres:  # binary results: the states as bytes, not hex text
            sql.cursor.execute(query.replace("?", "%s"), params, binary=True)
            rows = sql.cursor.fetchall()
        else:
            rows = sql.execute(query, params).fetchall()
    page = [Notification(id=int(p), originator_id=o if isinstance(o, UUID) else UUID(o), originator_version=int(v),
                         topic=t, state=bytes(s)) for p, o, v, t, s in rows]
    return page, (page[-1].id if len(page) == limit else end)


def _apply(sql, models, generation: int, store, notifications) -> None:
    """Apply a page in chunks: a chunk's documents are garbage once its rows are written, so they
    never pile up into the old generations of the cyclic GC (a page of 5,000 documents held at
    once made every page cost a full collection)."""
    for at in range(0, len(notifications), CHUNK):
        changes = [c for n in notifications[at:at + CHUNK] for c in to_changes(n, store)]
        for m in models:
            m.apply(sql, generation, changes)


def drop(sql, model: ReadModel, generation: int) -> None:
    for table in model.tables(generation):
        sql.execute(f"DROP TABLE IF EXISTS {table}")


def status(store, models: list[ReadModel] | None = None) -> tuple[tracking.State, int]:
    """The tracking rows and the log's head position."""
    models = models or tracking.default_models(store.backend.postgres)
    with store.backend.transaction(write=False) as sql:
        state = tracking.read_state(sql, models)
    return state, store.event_log.head()
