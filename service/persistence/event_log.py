"""Reading the event log by position: forwards (the library's query) and newest first (ours)."""
from typing import Sequence
from uuid import UUID

from eventsourcing.persistence import Notification

from service.persistence.backend import Backend


class EventLog:
    def __init__(self, recorder, backend: Backend):
        self.recorder = recorder
        self.backend = backend
        self.table = recorder.events_table_name

    def head(self) -> int:
        """The position of the newest event (0 for an empty log)."""
        return self.recorder.max_notification_id() or 0

    def after(self, start: int, limit: int, stop: int | None = None, topics: Sequence[str] = ()) -> list:
        """Notifications from `start` (inclusive) in order, at most `limit`, up to `stop`."""
        return list(self.recorder.select_notifications(start, limit, stop=stop, topics=list(topics)))

    def before(self, position: int, limit: int) -> list[Notification]:
        """Notifications below `position`, newest first, at most `limit`."""
        pos = "notification_id" if self.backend.postgres else "rowid"
        with self.backend.transaction(write=False) as sql:
            sql.execute(f"SELECT {pos}, originator_id, originator_version, topic, state FROM {self.table} "
                        f"WHERE {pos} < ? ORDER BY {pos} DESC LIMIT ?", (position, limit))
            rows = sql.fetchall()
        return [Notification(id=int(p), originator_id=o if isinstance(o, UUID) else UUID(o),
                             originator_version=int(v), topic=t, state=bytes(s)) for p, o, v, t, s in rows]
