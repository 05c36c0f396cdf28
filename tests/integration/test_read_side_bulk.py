"""The bulk reads of the read side (audit verify, rebuild) give exactly what the one-by-one reads give,
on SQLite and PostgreSQL."""
import random
from datetime import date, datetime, timedelta, timezone

import pytest

from domain.calls import CallInput
from domain.reseller import Reseller, ResellerTerms
from service.config import parse_database_url
from service.event_store import EventStore
from service.persistence import ledger_queries
from service.persistence.ledger import Ledger
from service.persistence.reseller_index import ResellerTermsWrite


@pytest.fixture
def store(database_url):
    store = EventStore(parse_database_url(database_url))
    yield store
    store.close()


def register(store, reseller_id, time_zone):
    terms = ResellerTerms.parse(reseller_id=reseller_id, name=f"Reseller {reseller_id}", currency="EUR",
                                time_zone=time_zone, tax_rate="0.19")
    store.save_all(Reseller(reseller_id, terms.as_dict()),
                   side_writes=(ResellerTermsWrite(reseller_id, "EUR", time_zone, False),))


def test_covered_usages_of_many_invoices_equal_covered_usage_of_each(store):
    rng = random.Random(3)
    for rid, zone in (("r1", "Europe/Berlin"), ("r2", "America/New_York"), ("r3", "UTC")):
        register(store, rid, zone)
    ledger = Ledger(store.backend)
    first = datetime(2026, 2, 20, tzinfo=timezone.utc)
    for batch in range(12):  # 12 batches: the watermarks below cut through them
        calls = []
        for i in range(40):
            started = first + timedelta(seconds=rng.randrange(50 * 86400))
            calls.append(CallInput(f"b{batch}-{i}", rng.choice(["r1", "r2", "r2", "r3"]), True,
                                   int(started.timestamp()), 0, rng.randint(1, 900), "49151",
                                   rng.choice(["DE Mobile", "AT", "US"]), f"{rng.randint(0, 5_000_000) / 1e6:.6f}",
                                   "EUR"))
        assert not ledger.record(calls).rejected
    keys = []
    for rid in ("r1", "r2", "r3", "nobody"):
        for start, end in ((date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 3, 1), date(2026, 3, 1)),
                           (date(2026, 1, 1), date(2026, 12, 31)), (date(2026, 3, 15), date(2026, 4, 2)),
                           (date(2025, 1, 1), date(2025, 1, 31))):
            for through in (0, 1, 5, 11, 12, 10**9):  # the same period again (void, re-issue) with other watermarks
                keys.append((rid, start, end, through))
    with store.backend.transaction(write=False) as sql:
        bulk = ledger_queries.covered_usages(sql, keys)
        one_by_one = [sorted(ledger_queries.covered_usage(sql, *key)) for key in keys]
    assert bulk == one_by_one
    assert sum(row.calls for rows in bulk for row in rows) > 0
    assert any(rows for rows in bulk) and any(not rows for rows in bulk)
