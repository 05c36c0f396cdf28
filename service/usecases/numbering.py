"""The invoice-number counter's pattern and start (SPEC §6)."""
import threading

from domain.numbering import Numbering
from service.event_store import EventStore
from service.retry import retrying


class NumberingAdmin:
    def __init__(self, store: EventStore, counter_lock: threading.Lock):
        self.store = store
        self.counter_lock = counter_lock  # shared with Invoicing.create

    def get(self) -> tuple[Numbering, int]:
        numbering = self.store.load_or_none(Numbering.create_id())
        if numbering is None:
            return Numbering(), 0
        return numbering, self.store.positions.of(numbering.id)

    def update(self, pattern: str, start: int) -> tuple[Numbering, int]:
        def attempt():
            numbering = self.store.load_or_none(Numbering.create_id()) or Numbering()
            numbering.reconfigure(pattern or None, start or None)
            return numbering, self.store.save_all(numbering)
        with self.counter_lock:
            return retrying(attempt)
