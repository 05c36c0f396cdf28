"""Questions about positions in the event log (the application recorder's own table)."""
from uuid import UUID

from service.persistence.backend import Backend


class EventPositions:
    """`position_of` an aggregate's latest event; the version of one aggregate stored before another."""

    def __init__(self, backend: Backend, events_table: str):
        self.backend = backend
        self.table = events_table
        self._pos = "notification_id" if backend.postgres else "rowid"

    def _id(self, aggregate_id: UUID):
        return aggregate_id if self.backend.postgres else aggregate_id.hex

    def of(self, aggregate_id: UUID) -> int:
        """The position of the aggregate's latest event (0 when it has none)."""
        with self.backend.transaction(write=False) as sql:
            sql.execute(f"SELECT MAX({self._pos}) FROM {self.table} WHERE originator_id = ?",
                        (self._id(aggregate_id),))
            return int(sql.fetchall()[0][0] or 0)

    def version_before(self, aggregate_id: UUID, anchor_id: UUID) -> int:
        """The version `aggregate_id` had when `anchor_id`'s first event was stored (0 = none yet).

        Positions are fixed once written, so the answer never changes (PDF re-renders rely on it).
        """
        with self.backend.transaction(write=False) as sql:
            sql.execute(f"SELECT MAX(s.originator_version) FROM {self.table} s JOIN {self.table} i "
                        f"ON i.originator_id = ? AND i.originator_version = 1 AND s.{self._pos} < i.{self._pos} "
                        "WHERE s.originator_id = ?", (self._id(anchor_id), self._id(aggregate_id)))
            return int(sql.fetchall()[0][0] or 0)
