"""Shared fixtures: a fresh store per test on each backend, and a real gRPC server on port 0; `slow` tests
run only with BILLING_RUN_SLOW=1."""
import os

import grpc
import pytest

from databases import fresh_postgres_database, need_postgres
from service.config import Settings, parse_database_url
from service.server import create_server

# Every `billing serve` a test starts as a subprocess inherits this: the admin console's default
# address (127.0.0.1:8080) is one port for the whole machine; console tests pick their own.
os.environ.setdefault("BILLING_CONSOLE_LISTEN", "off")

# CI sets this: tests marked `slow` (the full fuzz, the crash test, stress runs) run only then.
RUN_SLOW = os.environ.get("BILLING_RUN_SLOW") == "1"
_SLOW_DESELECTED = pytest.StashKey[int]()


def pytest_collection_modifyitems(config, items):
    """Deselect `slow` tests unless BILLING_RUN_SLOW=1 (or `-m` names the marker)."""
    if RUN_SLOW or "slow" in (config.getoption("markexpr") or ""):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
    config.stash[_SLOW_DESELECTED] = len(slow)


def pytest_terminal_summary(terminalreporter, config):
    n = config.stash.get(_SLOW_DESELECTED, 0)
    if n:
        terminalreporter.write_line(f"{n} slow tests deselected; run them with BILLING_RUN_SLOW=1 make test "
                                    "(as CI does)", yellow=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A database URL for an empty store, once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'billing.db'}"
        return
    need_postgres()
    url, drop = fresh_postgres_database()
    yield url
    drop()


@pytest.fixture
def postgres_url():
    """An empty PostgreSQL database only (for multi-process tests)."""
    need_postgres()
    url, drop = fresh_postgres_database()
    yield url
    drop()


@pytest.fixture
def server(database_url):
    running = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(database_url)))
    running.server.start()
    yield running
    running.stop(0)


@pytest.fixture
def channel(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        yield ch
