"""What a storage failure means for the caller: a concurrency conflict to retry, or an unreachable store.

Only this module knows the drivers' error classes; the retry policy (service/retry.py) asks
`is_conflict` / `is_unreachable` and lets everything else surface at once.
"""
import sqlite3

import psycopg
from eventsourcing.persistence import (ConnectionUnavailableError, IntegrityError, InterfaceError,
                                       OperationalError)

from domain.errors import Conflict

# PostgreSQL SQLSTATEs of transactions that lost a race and are safe to run again. The library
# saves in a psycopg pipeline: when a statement in it fails (our unique number index racing
# another process's save), the save may report only "pipeline aborted", not the violation.
_PG_RETRYABLE = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected,
                 psycopg.errors.LockNotAvailable, psycopg.errors.PipelineAborted)


class StoreUnavailable(Exception):
    """The database cannot be reached (or a conflict persisted past the retry budget); retryable."""


def _causes(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_conflict(exc: BaseException) -> bool:
    """A concurrent writer won: the event store's version clash (IntegrityError, also raised by a
    unique side table racing), a domain Conflict, a PostgreSQL serialization failure or deadlock,
    or SQLite's busy/locked."""
    if isinstance(exc, (IntegrityError, Conflict)):
        return True
    for cause in _causes(exc):
        if isinstance(cause, _PG_RETRYABLE) or str(cause) == "pipeline aborted":
            return True
        if isinstance(cause, sqlite3.OperationalError) and ("locked" in str(cause) or "busy" in str(cause)):
            return True
    return False


def is_unreachable(exc: BaseException) -> bool:
    """The database cannot be reached: no connection, a broken one, or the pool gave none in time."""
    if isinstance(exc, (ConnectionUnavailableError, StoreUnavailable)):
        return True
    if is_conflict(exc):
        return False
    for cause in _causes(exc):
        if isinstance(cause, psycopg.OperationalError) and not isinstance(cause, _PG_RETRYABLE):
            state = getattr(getattr(cause, "diag", None), "sqlstate", None) or ""
            if not state or state.startswith(("08", "57P")):  # connection exceptions, admin shutdown
                return True
        if isinstance(cause, psycopg.InterfaceError):
            return True
        if isinstance(cause, sqlite3.OperationalError) and "unable to open" in str(cause):
            return True
    return isinstance(exc, (InterfaceError,)) or (
        isinstance(exc, OperationalError) and "connection" in str(exc).lower())
