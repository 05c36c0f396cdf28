"""Shared fixtures: a fresh store per test on each backend, and a real gRPC server on port 0."""
import os
import uuid
from urllib.parse import urlparse

import grpc
import psycopg
import pytest

from service.config import Settings, parse_database_url
from service.server import create_server

POSTGRES_URL = os.environ.get("BILLING_TEST_POSTGRES_URL", "")
# CI sets this: a PostgreSQL test that cannot run is a failure there, never a skip.
REQUIRE_POSTGRES = os.environ.get("BILLING_REQUIRE_POSTGRES") == "1"


def _need_postgres():
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("BILLING_TEST_POSTGRES_URL is not set but BILLING_REQUIRE_POSTGRES=1")
        pytest.skip("PostgreSQL tests need BILLING_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)")


def fresh_postgres_database() -> tuple[str, callable]:
    """Create an empty database next to the test one; returns its URL and a drop function."""
    name = f"billing_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlparse(POSTGRES_URL)._replace(path=f"/{name}").geturl()

    def drop():
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return url, drop


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A database URL for an empty store, once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'billing.db'}"
        return
    _need_postgres()
    url, drop = fresh_postgres_database()
    yield url
    drop()


@pytest.fixture
def postgres_url():
    """An empty PostgreSQL database only (for multi-process tests)."""
    _need_postgres()
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
