"""Retry on real concurrency conflicts only: bounded, with jittered exponential backoff (SPEC §2).

A conflict (the event store's version clash, a serialization failure, SQLite busy) runs the
load-act-save again; one that persists past `BUDGET_SECONDS` becomes StoreUnavailable
(UNAVAILABLE, retryable). An unreachable database is StoreUnavailable at once. Anything else
is a fault and surfaces unchanged (INTERNAL, logged once with its cause at the edge).
"""
import logging
import random
import time
from typing import Callable, TypeVar

from service.persistence.errors import StoreUnavailable, is_conflict, is_unreachable

log = logging.getLogger("billing.retry")
T = TypeVar("T")
BUDGET_SECONDS = 5.0
FIRST_DELAY, MAX_DELAY = 0.001, 0.05


def retrying(action: Callable[[], T], budget: float = BUDGET_SECONDS, clock=time.monotonic,
             sleep=time.sleep, jitter=random.random) -> T:
    deadline, delay, attempt = clock() + budget, FIRST_DELAY, 0
    while True:
        attempt += 1
        try:
            return action()
        except Exception as e:
            if is_unreachable(e):
                raise StoreUnavailable(f"the database cannot be reached: {_cause(e)}") from e
            if not is_conflict(e):
                raise
            if clock() >= deadline:
                raise StoreUnavailable(f"write contention persisted for {budget:g} s "
                                       f"({attempt} attempts); retry") from e
            log.debug("concurrent write, attempt %d: %s", attempt, e)
        sleep(delay * (0.5 + jitter()))  # jitter: racing writers do not retry in lockstep
        delay = min(delay * 2, MAX_DELAY)


def _cause(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__
