"""Test databases: an empty PostgreSQL database per test, next to the one BILLING_TEST_POSTGRES_URL names.

A module of its own (not conftest.py): test modules import it by name, and `conftest` is not a unique
module name once a test directory has a conftest.py of its own."""
import os
import uuid
from urllib.parse import urlparse

import psycopg
import pytest

POSTGRES_URL = os.environ.get("BILLING_TEST_POSTGRES_URL", "")
# CI sets this: a PostgreSQL test that cannot run is a failure there, never a skip.
REQUIRE_POSTGRES = os.environ.get("BILLING_REQUIRE_POSTGRES") == "1"


def need_postgres() -> None:
    """Skip the calling test without PostgreSQL (fail it in CI)."""
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
