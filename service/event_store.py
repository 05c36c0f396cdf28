"""The event store: the eventsourcing Application that loads aggregates and saves them atomically.

Use cases load → act → `save(*aggregates, side_writes=...)`; the side writes (index rows beside
the events) run in the events' transaction (service/persistence/recorders.py). Every save
reports its position to the `on_saved` listeners (the projection runner wakes on it).
"""
from typing import Any, Callable, ContextManager
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent

# Imported for their side effect too: they register the first release's event topics.
from domain import invoice, numbering, reseller, seller, template_catalog  # noqa: F401
from domain.errors import NotFound
from service.config import Database
from service.persistence.backend import Backend, schema_lock
from service.persistence.environment import library_env, postgres_dsn
from service.persistence.event_log import EventLog
from service.persistence.positions import EventPositions
from service.persistence.schema import fill_documents_from_first_release


class EventStore(Application):
    name = "Billing"
    snapshotting_intervals = {numbering.Numbering: 50, invoice.InvoiceBook: 50}

    def __init__(self, database: Database):
        with schema_lock(postgres_dsn(database)):
            super().__init__(env=library_env(database))
        self.backend = Backend(self.recorder.datastore, postgres=database.kind == "postgres")
        with schema_lock(postgres_dsn(database)):
            fill_documents_from_first_release(self.backend)
        self.positions = EventPositions(self.backend, self.recorder.events_table_name)
        self.event_log = EventLog(self.recorder, self.backend)
        self.on_saved: list[Callable[[int], None]] = []

    def save_all(self, *aggregates: Any, side_writes: tuple = ()) -> int:
        """Save atomically with the side writes; returns the position of the last event written
        (or, when nothing changed, of the first aggregate's latest event)."""
        recordings = self.save_recorded(*aggregates, side_writes=side_writes)
        return recordings[-1].notification.id if recordings else self.positions.of(aggregates[0].id)

    def save(self, *aggregates: Any, **kwargs: Any) -> list:
        """The library's `save` for aggregates only: it checks every saved object against two
        runtime-checkable Protocols, and those isinstance checks were ~10 % of a CreateInvoice
        (issue #11). Everything saved here is one of our Aggregate subclasses."""
        processing_event = ProcessingEvent()
        for aggregate in aggregates:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def _take_snapshots(self, processing_event: ProcessingEvent) -> None:
        """The library reloads an aggregate from the store to snapshot it at an event's version (and
        checks events against a runtime Protocol): at every 50th numbering event that re-read the
        counter's last 50 events inside the counter lock (~5 % of a CreateInvoice's CPU; issue #11).
        The aggregate just saved is that state when the event is its latest, since our aggregates
        change only by applying their events; it is snapshotted as it is. Otherwise (an interval
        reached mid-save) the library's way."""
        if not self.snapshots:
            return
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval is None or event.originator_version % interval:
                continue
            if aggregate.version == event.originator_version:
                snapshot_class = getattr(type(aggregate), "Snapshot", type(self).snapshot_class)
                self.snapshots.put([snapshot_class.take(aggregate)])
            else:
                self.take_snapshot(event.originator_id, version=event.originator_version, projector_func=_project)

    def save_recorded(self, *aggregates: Any, side_writes: tuple = ()) -> list:
        """`save_all` returning the recordings (each event's notification with its position)."""
        recordings = self.save(*aggregates, side_writes=side_writes)
        if recordings:
            for listener in self.on_saved:
                listener(recordings[-1].notification.id)
        return recordings

    def reading(self) -> ContextManager[None]:
        """Loads and queries of this thread inside share one connection (Backend.reading); never save,
        or wait for a save, inside it."""
        return self.backend.reading()

    def load(self, aggregate_id: UUID, what: str, version: int | None = None) -> Any:
        try:
            return self.repository.get(aggregate_id, version=version, projector_func=_project)
        except AggregateNotFoundError:
            raise NotFound(f"{what} not found") from None

    def load_or_none(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id, projector_func=_project)
        except AggregateNotFoundError:
            return None

    def read(self, aggregate_id: UUID) -> Any:
        """The aggregate for reading only (the cached object itself, not a copy): never mutate it."""
        try:
            return self.repository.get(aggregate_id, deepcopy_from_cache=False, projector_func=_project)
        except AggregateNotFoundError:
            return None

    def events_of(self, aggregate_id: UUID) -> list:
        return list(self.events.get(aggregate_id))

    def decode(self, notification) -> Any:
        return self.mapper.to_domain_event(notification)


def _project(aggregate: Any, events: Any) -> Any:
    """The library's `project_aggregate` without its per-event `isinstance` check against a
    runtime-checkable Protocol (an assert costing more than applying the event; issue #11)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate
