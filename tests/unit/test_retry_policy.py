"""Retries only on real concurrency conflicts, bounded, with backoff; everything else at once (SPEC §2)."""
import sqlite3

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, ProgrammingError

from domain.errors import Conflict, NotFound
from service.persistence.errors import StoreUnavailable
from service.retry import retrying


class Clock:
    def __init__(self):
        self.now, self.sleeps = 0.0, []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def run(action, budget=5.0):
    clock = Clock()
    return retrying(action, budget=budget, clock=lambda: clock.now, sleep=clock.sleep, jitter=lambda: 0.5), clock


def failing(errors, result="done"):
    errors = list(errors)

    def action():
        if errors:
            raise errors.pop(0)
        return result
    return action


def wrapped(cause, cls=OperationalError):
    try:
        raise cause
    except Exception as e:
        try:
            raise cls(str(e)) from e
        except cls as outer:
            return outer


def test_a_version_clash_is_retried_until_the_save_succeeds():
    result, clock = run(failing([IntegrityError("UNIQUE constraint failed"), Conflict("usage changed")]))
    assert result == "done" and len(clock.sleeps) == 2


def test_backoff_grows_and_stays_bounded():
    _, clock = run(failing([IntegrityError("clash")] * 12))
    assert clock.sleeps[0] < clock.sleeps[3] and max(clock.sleeps) <= 0.05


def test_serialization_failures_deadlocks_and_sqlite_busy_are_conflicts():
    errors = [wrapped(psycopg.errors.SerializationFailure("could not serialize")),
              wrapped(psycopg.errors.DeadlockDetected("deadlock detected")),
              wrapped(sqlite3.OperationalError("database is locked"))]
    result, clock = run(failing(errors))
    assert result == "done" and len(clock.sleeps) == 3


def test_a_conflict_that_persists_past_the_budget_is_unavailable():
    with pytest.raises(StoreUnavailable, match="contention persisted for 5 s"):
        run(failing([IntegrityError("clash")] * 10_000))


def test_an_unreachable_database_is_unavailable_at_once_without_retrying():
    calls = []

    def action():
        calls.append(1)
        raise wrapped(psycopg.OperationalError("connection refused"))
    with pytest.raises(StoreUnavailable, match="cannot be reached"):
        run(action)
    assert calls == [1]


@pytest.mark.parametrize("error", [ProgrammingError("no such table: x"), ValueError("bug"), NotFound("no invoice")])
def test_any_other_error_surfaces_at_once_unchanged(error):
    calls = []

    def action():
        calls.append(1)
        raise error
    with pytest.raises(type(error)):
        run(action)
    assert calls == [1]


def test_an_aborted_pipeline_is_a_conflict_not_an_outage():
    """The library saves in a psycopg pipeline; a racing unique violation may surface only as this."""
    result, clock = run(failing([wrapped(psycopg.errors.PipelineAborted("pipeline aborted")),
                                 OperationalError("pipeline aborted")]))
    assert result == "done" and len(clock.sleeps) == 2
