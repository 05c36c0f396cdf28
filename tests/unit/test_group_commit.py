"""GroupCommit: writers queued for one lock are saved together by whichever takes it first."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import wait_until
from service.usecases.group_commit import GroupCommit, Outcome


def doubling(batches: list):
    """A save_group that records its batches and doubles each item (an odd item fails)."""
    def save_group(items):
        batches.append(list(items))
        return [Outcome(error=ValueError(f"item {i}")) if i % 2 else Outcome(i * 2) for i in items]
    return save_group


def queue_behind_the_lock(commit: GroupCommit, items: list) -> tuple[ThreadPoolExecutor, list]:
    """Submit every item from its own thread while the test holds the lock; returns the futures
    once all of them are queued."""
    pool = ThreadPoolExecutor(len(items))
    futures = [pool.submit(commit.submit, i) for i in items]
    wait_until(lambda: commit.queued == len(items), 10, "every writer queued")
    return pool, futures


def test_a_lone_writer_saves_its_own_item():
    batches = []
    commit = GroupCommit(threading.Lock(), doubling(batches))
    assert commit.submit(4) == 8
    assert batches == [[4]] and commit.queued == 0


def test_writers_queued_behind_the_lock_are_saved_together_by_one_leader_in_queue_order():
    batches, lock = [], threading.Lock()
    commit = GroupCommit(lock, doubling(batches))
    with lock:
        pool, futures = queue_behind_the_lock(commit, [0, 2, 4, 6, 8])
    assert [f.result(timeout=10) for f in futures] == [0, 4, 8, 12, 16]
    pool.shutdown()
    assert len(batches) == 1 and sorted(batches[0]) == [0, 2, 4, 6, 8]


def test_an_error_outcome_is_raised_in_its_own_writer_only():
    batches, lock = [], threading.Lock()
    commit = GroupCommit(lock, doubling(batches))
    with lock:
        pool, futures = queue_behind_the_lock(commit, [2, 3, 4])
    assert futures[0].result(timeout=10) == 4 and futures[2].result(timeout=10) == 8
    with pytest.raises(ValueError, match="item 3"):
        futures[1].result(timeout=10)
    pool.shutdown()


def test_a_fault_of_the_whole_group_reaches_every_writer():
    lock = threading.Lock()

    def broken(items):
        raise RuntimeError("the database went away")
    commit = GroupCommit(lock, broken)
    with lock:
        pool, futures = queue_behind_the_lock(commit, [1, 2, 3])
    for f in futures:
        with pytest.raises(RuntimeError, match="went away"):
            f.result(timeout=10)
    pool.shutdown()
    assert commit.queued == 0


def test_many_threads_each_get_their_own_result_and_every_item_is_saved_exactly_once():
    saved, lock = [], threading.Lock()

    def save_group(items):
        saved.extend(items)
        return [Outcome(("done", i)) for i in items]
    commit = GroupCommit(lock, save_group)

    def writer(k: int) -> list:
        return [commit.submit(k * 1000 + j) for j in range(300)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(writer, range(8)))
    for k, got in enumerate(results):
        assert got == [("done", k * 1000 + j) for j in range(300)]
    assert sorted(saved) == sorted(k * 1000 + j for k in range(8) for j in range(300))
    assert commit.queued == 0
