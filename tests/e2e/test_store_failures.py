"""A database that cannot be reached is UNAVAILABLE at once; any other storage fault is INTERNAL with
one log line naming its cause — neither is retried as if it were contention (SPEC §2)."""
import logging
import sqlite3
from urllib.parse import urlparse

import grpc
import psycopg
import pytest

from billing.v1 import reseller_pb2
from databases import POSTGRES_URL
from helpers import Stubs, reseller


def test_an_unreachable_database_is_unavailable_not_aborted(postgres_url):
    from service.config import Settings, parse_database_url
    from service.server import create_server

    running = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(postgres_url)))
    running.server.start()
    name = urlparse(postgres_url).path.lstrip("/")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stubs = Stubs(channel)
            stubs.resellers.UpsertReseller(reseller())
            with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            try:
                with pytest.raises(grpc.RpcError) as err:
                    stubs.resellers.UpsertReseller(reseller(name="Renamed"), timeout=30)
                assert err.value.code() == grpc.StatusCode.UNAVAILABLE, err.value.details()
                assert "cannot be reached" in err.value.details()
            finally:
                with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
                    admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            assert stubs.resellers.UpsertReseller(reseller(name="Renamed")).name == "Renamed"  # and it recovers
    finally:
        running.stop(0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_storage_fault_is_internal_once_with_its_cause_logged(server, channel, database_url, caplog):
    stubs = Stubs(channel)
    stubs.resellers.UpsertReseller(reseller())
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        db.execute("DROP TABLE billing_resellers")
    with caplog.at_level(logging.ERROR, logger="billing.errors"):
        with pytest.raises(grpc.RpcError) as err:
            stubs.resellers.UpsertReseller(reseller(name="Renamed"))
    assert err.value.code() == grpc.StatusCode.INTERNAL and "incident" in err.value.details()
    lines = [r.getMessage() for r in caplog.records if r.name == "billing.errors"]
    assert len(lines) == 1 and "no such table: billing_resellers" in lines[0]
    assert stubs.resellers.GetReseller(reseller_pb2.GetResellerRequest(reseller_id="r1")).name != "Renamed"
