"""Read sessions (EventStore.reading, service/persistence/sqlite_store.py): the reads of one thread inside
a session share one connection and one snapshot; writes keep their own connection."""
import threading

import pytest

from domain.reseller import Reseller, ResellerTerms
from service.config import parse_database_url
from service.event_store import EventStore


@pytest.fixture
def store(tmp_path):
    store = EventStore(parse_database_url(f"sqlite:///{tmp_path}/session.db"))
    yield store
    store.close()


def reseller(reseller_id: str, name: str = "Acme") -> Reseller:
    terms = ResellerTerms.parse(reseller_id=reseller_id, name=name, currency="EUR", time_zone="Europe/Berlin",
                                tax_rate="0.19")
    return Reseller(reseller_id, terms.as_dict())


def count_connections_taken(store) -> list:
    """Every connection the pool hands out from now on."""
    pool, taken = store.recorder.datastore.pool, []
    get = pool.get_connection

    def counting(*args, **kwargs):
        conn = get(*args, **kwargs)
        taken.append(conn)
        return conn
    pool.get_connection = counting
    return taken


def test_reads_inside_a_session_take_one_connection(store):
    a, b = reseller("r-a"), reseller("r-b")
    store.save_all(a, b)
    taken = count_connections_taken(store)
    with store.reading():
        assert store.load(a.id, "a").terms.reseller_id == "r-a"
        assert store.load(b.id, "b").terms.reseller_id == "r-b"
        assert store.load_or_none(Reseller.create_id("nobody")) is None
        with store.backend.transaction(write=False) as sql:
            assert sql.execute("SELECT COUNT(*) FROM stored_events").fetchall() == [(2,)]
    assert len(taken) == 1
    store.load(a.id, "a")  # outside: a transaction of its own again
    assert len(taken) == 2


def test_a_session_reads_one_snapshot_and_a_later_read_sees_the_new_write(store):
    store.save_all(reseller("r-a"))
    done = threading.Event()

    def write_other():  # another thread commits while the session is open
        store.save_all(reseller("r-b"))
        done.set()

    def count(sql) -> int:
        return sql.execute("SELECT COUNT(*) FROM stored_events").fetchall()[0][0]

    with store.reading():
        with store.backend.transaction(write=False) as sql:
            assert count(sql) == 1  # the snapshot starts here
        writer = threading.Thread(target=write_other)
        writer.start()
        assert done.wait(10)  # WAL: the write was not blocked by the open read
        with store.backend.transaction(write=False) as sql:
            assert count(sql) == 1  # still the session's snapshot
        assert store.load_or_none(Reseller.create_id("r-b")) is None
    writer.join()
    with store.backend.transaction(write=False) as sql:
        assert count(sql) == 2
    assert store.load(Reseller.create_id("r-b"), "b").terms.reseller_id == "r-b"


def test_sessions_nest_and_writes_inside_one_use_their_own_connection(store):
    taken = count_connections_taken(store)
    with store.reading():
        with store.reading():  # joins the outer session
            assert store.load_or_none(Reseller.create_id("r-a")) is None
        store.save_all(reseller("r-a"))  # a write in a session: the writer connection, committed
    assert len(taken) == 2
    with store.reading():
        assert store.load(Reseller.create_id("r-a"), "a").terms.name == "Acme"


def test_an_error_inside_a_session_ends_it_and_returns_the_connection(store):
    pool = store.recorder.datastore.pool
    with pytest.raises(ZeroDivisionError):
        with store.reading():
            store.load_or_none(Reseller.create_id("r-a"))
            1 / 0
    assert getattr(store.recorder.datastore._session, "connection", None) is None
    store.save_all(reseller("r-a"))
    assert store.load(Reseller.create_id("r-a"), "a").terms.reseller_id == "r-a"
    assert pool._num_writers == 0


@pytest.mark.postgres
def test_postgres_reads_inside_a_session_take_one_pooled_connection_and_see_every_commit(postgres_url):
    pg = EventStore(parse_database_url(postgres_url))
    try:
        pg.save_all(reseller("r-a"))
        pool, taken = pg.recorder.datastore.pool, []
        checkout = pool.connection

        def counting(*args, **kwargs):
            taken.append(1)
            return checkout(*args, **kwargs)
        pool.connection = counting
        with pg.reading():
            assert pg.load(Reseller.create_id("r-a"), "a").terms.reseller_id == "r-a"
            with pg.backend.transaction(write=False) as sql:
                table = pg.recorder.events_table_name
                assert sql.execute(f"SELECT COUNT(*) FROM {table}").fetchall() == [(1,)]
            writer = threading.Thread(target=lambda: pg.save_all(reseller("r-b")))
            writer.start()
            writer.join(30)
            assert pg.load(Reseller.create_id("r-b"), "b").terms.reseller_id == "r-b"  # autocommit reads
        assert len(taken) == 2  # the session's and the writer's
    finally:
        pg.close()
