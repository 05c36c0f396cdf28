"""Snapshots (service/event_store.py): taken every 50 events of a counter or an invoice book, from the
aggregate just saved (no re-read of its events), and equal to what replaying the events gives."""
from datetime import date

import pytest

from domain.numbering import Numbering
from service.config import parse_database_url
from service.event_store import EventStore


@pytest.fixture
def store(database_url):
    store = EventStore(parse_database_url(database_url))
    yield store
    store.close()


def test_the_fiftieth_event_of_a_counter_is_snapshotted_without_reading_its_events_back(store):
    counter = Numbering()
    store.save_all(counter)
    reads = []
    select_events = store.recorder.select_events
    store.recorder.select_events = lambda *a, **k: reads.append(a) or select_events(*a, **k)
    for n in range(49):  # events 2..50
        counter.take(f"inv-{n}", date(2026, 3, 1))
        store.save_all(counter)
    assert reads == []  # the library re-read the counter's events to snapshot it
    store.recorder.select_events = select_events
    snapshots = list(store.snapshots.get(counter.id))
    assert [s.originator_version for s in snapshots] == [50]
    from_snapshot = snapshots[0].mutate(None)
    replayed = None
    for event in store.events_of(counter.id):
        replayed = event.mutate(replayed)
    assert vars(from_snapshot) == vars(replayed) and from_snapshot.next_number == 50
    assert vars(store.load(counter.id, "counter")) == vars(replayed)  # loads start from the snapshot


def test_a_snapshot_interval_reached_before_the_last_event_of_a_save_is_taken_at_that_version(store):
    counter = Numbering()
    for n in range(50):  # events 2..51 in one save: the interval is reached by the 49th take
        counter.take(f"inv-{n}", date(2026, 3, 1))
    store.save_all(counter)
    snapshots = list(store.snapshots.get(counter.id))
    assert [s.originator_version for s in snapshots] == [50] and snapshots[0].state["next_number"] == 50
