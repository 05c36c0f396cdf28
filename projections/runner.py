"""The projection runner: follows the event log and applies it to the read models, exactly once.

Each batch (up to 500 events) is applied and the tracking rows advanced in ONE
transaction, so a crash or restart resumes right after the last committed batch.
Wake-ups: in-process right after each save (the store's `on_saved`), LISTEN/NOTIFY on
PostgreSQL (writes by other server processes), and a short poll as the fallback; after a
wake-up the next 50 ms of writes join the batch unless a reader is waiting.
Readers wait for a position on a condition variable (`wait_for`), never by sleeping.
"""
import logging
import threading
from typing import Callable, TypeVar

from projections import tracking
from projections import rebuild
from projections.documents import to_changes
from projections.model import ReadModel

log = logging.getLogger("billing.projections")
T = TypeVar("T")
BATCH = 500
# After a wake-up the runner gathers the next writes into the same batch, unless a reader waits
# for a position (`wait_for`): each batch costs two transactions and three read models' statements
# however few events it holds, and batches of one invoice cost ~1 ms of the server's CPU per
# invoice, a quarter of a CreateInvoice (issue #11). Lag target: p99 <= 100 ms.
COALESCE_SECONDS = 0.05


class ProjectionRunner:
    def __init__(self, store, models: list[ReadModel] | None = None, batch_size: int = BATCH,
                 poll_seconds: float | None = None):
        self.store = store  # service.event_store.EventStore: its log, mapper and datastore
        self.backend = store.backend
        self.models = models or tracking.default_models(store.backend.postgres)
        self.model = {m.name: m for m in self.models}
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds or (0.5 if store.backend.postgres else 0.1)
        self.applied = 0
        self.saved = 0  # the last position this process's own saves reported (read-your-writes default)
        self._applied = threading.Condition()
        self._wake = threading.Condition()
        self._woken = False
        self._stopping = threading.Event()
        self._hurry = threading.Event()  # a reader waits: end the gathering now
        self._closing = threading.Event()  # set at shutdown: following streams end
        self._threads: list[threading.Thread] = []

    # ---- life cycle ------------------------------------------------------------------
    def start(self) -> "ProjectionRunner":
        state, stale = tracking.setup(self.backend, self.models)
        if stale:  # tables of another shape (e.g. written by an older release): rebuild before serving
            log.info("projections %s have a new shape; rebuilding them from the events before serving",
                     ", ".join(stale))
            result = rebuild.rebuild(self.store, self.models, grace_seconds=0)
            log.info("projections rebuilt: generation %d, %d events in %.1f s", result.generation, result.events,
                     result.seconds)
            state, _ = tracking.setup(self.backend, self.models)
        self._publish(min(p for _, p in state.values()))
        self._spawn(self._follow, "projections")
        if self.backend.postgres:
            self._spawn(self._listen, "projections-listen")
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._hurry.set()
        self.wake()
        with self._applied:
            self._applied.notify_all()
        for t in self._threads:
            t.join(timeout=10)

    def close_streams(self) -> None:
        self._closing.set()
        with self._applied:
            self._applied.notify_all()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def closing(self) -> bool:
        return self._closing.is_set() or self.stopping

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # ---- waking and waiting ----------------------------------------------------------
    def wake(self, position: int = 0) -> None:
        """New events may exist (hooked to the store's `on_saved`)."""
        with self._applied:  # the lock `wait_for` readers hold
            self.saved = max(self.saved, position)
        with self._wake:
            self._woken = True
            self._wake.notify()

    def own_writes(self) -> int:
        """The last position this process's own saves reported (the read-your-writes default)."""
        with self._applied:
            return self.saved

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until the read models applied `position` (True) or the timeout/stop (False)."""
        with self._applied:
            if self.applied >= position:
                return True
        self._hurry.set()
        with self._applied:
            return self._applied.wait_for(lambda: self.applied >= position or self.stopping, timeout) \
                and self.applied >= position

    def wait_for_news(self, position: int, timeout: float) -> None:
        """Block until an event at or after `position` was applied, shutdown begins, or the timeout."""
        with self._applied:
            self._applied.wait_for(lambda: self.applied >= position or self.closing, timeout)

    def _publish(self, position: int) -> None:
        with self._applied:
            if position > self.applied:
                self.applied = position
                self._applied.notify_all()

    # ---- reading ---------------------------------------------------------------------
    def query(self, name: str, read: Callable[..., T]) -> T:
        """Run `read(model, sql, generation)` on the live generation of a read model.

        Retried once: a rebuild may swap generations between reading the tracking row
        and reading the (then dropped) old table.
        """
        for attempt in (1, 2):
            try:
                with self.backend.transaction(write=False) as sql:
                    return read(self.model[name], sql, tracking.generation(sql, name))
            except Exception:  # noqa: BLE001 - a missing table after a swap: read again
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # ---- following -------------------------------------------------------------------
    def run_once(self) -> bool:
        """Apply the next batch; True when more may be waiting (a full batch, or a lost race)."""
        with self.backend.transaction(write=False) as sql:
            state = tracking.read_state(sql, self.models)
        low = min(p for _, p in state.values())
        notifications = self.store.event_log.after(low + 1, self.batch_size)
        if not notifications:
            self._publish(low)
            return False
        changes = [c for n in notifications for c in to_changes(n, self.store)]
        last = notifications[-1].id
        with self.backend.transaction() as sql:
            if tracking.lock_state(sql, self.models) != state:
                return True  # another runner (process) moved on, or a rebuild swapped: read again
            for m in self.models:
                generation, position = state[m.name]
                m.apply(sql, generation, [c for c in changes if c.position > position])
                tracking.set_state(sql, m.name, generation, max(last, position))
        self._publish(last)
        return len(notifications) == self.batch_size

    def _follow(self) -> None:
        while not self.stopping:
            try:
                if self.run_once():
                    continue
            except Exception:  # noqa: BLE001 - keep following; the batch rolled back as a whole
                log.exception("projection batch failed; retrying")
                self._stopping.wait(1.0)
                continue
            with self._wake:
                if not self._woken:
                    self._wake.wait(self.poll_seconds)
                woken, self._woken = self._woken, False
            if woken:  # gather the next writes into this batch, unless a reader is waiting
                self._hurry.wait(COALESCE_SECONDS)
                self._hurry.clear()

    def _listen(self) -> None:
        """PostgreSQL: the library NOTIFYs the events table's channel on every insert."""
        channel = self.store.recorder.channel_name
        while not self.stopping:
            try:
                with self.store.recorder.datastore.get_connection() as conn:
                    conn.execute(f'LISTEN "{channel}"')
                    try:
                        while not self.stopping:
                            for _ in conn.notifies(timeout=0.5, stop_after=1):
                                self.wake()
                    finally:
                        conn.execute("UNLISTEN *")
            except Exception:  # noqa: BLE001 - fall back to polling until LISTEN works again
                log.warning("LISTEN on %s failed; polling", channel, exc_info=True)
                self._stopping.wait(1.0)
