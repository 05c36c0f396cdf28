"""The event log as auditors read it (SPEC §8, §11): a stream in order, the latest events, and one
aggregate's history — all with the same JSON encoding of an event's payload."""
import json
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Iterator
from uuid import UUID

from domain.errors import NotFound
from service.event_store import EventStore

PAGE = 500  # events read per query: memory stays bounded however slow the client reads
IDLE_CHECK = 1.0  # seconds between liveness checks while following an idle log
META = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


@dataclass(frozen=True)
class EventRecord:
    position: int  # 0 where the position is not asked for (aggregate history)
    originator_id: str
    originator_version: int
    topic: str
    type_name: str  # the event class, e.g. "Invoice.Issued"
    timestamp: datetime
    payload_json: str


def payload_json(event: Any) -> str:
    """An event's own attributes as JSON: Decimal, UUID, date and datetime as strings (the one encoding)."""
    attributes = {k: v for k, v in vars(event).items() if k not in META}
    return json.dumps(attributes, default=_default, sort_keys=True, ensure_ascii=False)


def _default(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)  # Decimal, UUID, and anything else a transcoding restores


def record(event: Any, position: int = 0, topic: str = "") -> EventRecord:
    return EventRecord(position, str(event.originator_id), event.originator_version,
                       topic or f"{type(event).__module__}:{type(event).__qualname__}",
                       type(event).__qualname__, event.timestamp, payload_json(event))


class EventFeed:
    def __init__(self, store: EventStore, runner):
        self.store = store
        self.runner = runner  # projections.runner.ProjectionRunner: says when new events were applied

    def stream(self, from_position: int, follow: bool, active: Callable[[], bool],
               stopped: threading.Event) -> Iterator[EventRecord]:
        """Every event from `from_position` on, in order; with `follow`, new ones as they are stored,
        until `active()` is false, `stopped` is set or the server closes streams."""
        position = max(from_position, 1)
        while active() and not stopped.is_set():
            notifications = self.store.event_log.after(position, PAGE)
            for n in notifications:
                yield self._record(n)
            if notifications:
                position = notifications[-1].id + 1
            elif not follow or self.runner.closing:
                return
            else:  # the runner applies every event: when it passed `position`, there is news
                self.runner.wait_for_news(position, IDLE_CHECK)

    def latest(self, before: int, limit: int) -> list[EventRecord]:
        """Events below position `before` (0 = the newest), newest first."""
        start = before or self.store.event_log.head() + 1
        return [self._record(n) for n in self.store.event_log.before(start, limit)]

    def history(self, aggregate_id: UUID, what: str) -> list[EventRecord]:
        events = self.store.events_of(aggregate_id)
        if not events:
            raise NotFound(f"{what} not found")
        return [record(e) for e in events]

    def _record(self, notification) -> EventRecord:
        return record(self.store.decode(notification), notification.id, notification.topic)
