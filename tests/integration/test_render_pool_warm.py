"""The render pool never puts a cold worker on a request's path (issue #11): workers boot in the
background, join the idle workers only once warm, and a worker due for recycling serves on until
its successor has booted. `billing serve` starts the pool at start-up; servers in tests do not."""
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from service.config import Settings, load_settings, parse_database_url
from service.render import RenderFailed, RenderJob, RenderPool
from service.server import create_server

JOB = RenderJob("# Invoice {{ invoice.number }}", None, {"invoice": {"number": "7"}}, "2026-03-01T10:00:00Z", "w")


def traced(pool: RenderPool) -> list[tuple[int, bool]]:
    """Record (pid, booted) of the worker serving each render."""
    served, exchange = [], pool._exchange

    def spy(worker, job):
        served.append((worker.process.pid, worker.booted))
        return exchange(worker, job)
    pool._exchange = spy
    return served


def wait_for(condition, timeout=120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_pool_returns_at_once_and_only_warm_workers_serve():
    t0 = time.monotonic()
    with RenderPool(max_workers=2) as pool:
        assert time.monotonic() - t0 < 1.0  # the workers boot in the background
        served = traced(pool)
        worker = pool._idle.get(timeout=120)  # only a booted worker is ever idle
        assert worker.booted and worker.process.is_alive() and not worker.conn.poll(0)  # READY consumed
        pool._idle.put(worker)
        assert all(pool.render(JOB).startswith(b"%PDF") for _ in range(4))
        assert all(booted for _, booted in served)


def test_a_recycled_worker_serves_until_its_successor_is_warm_then_is_swapped_out():
    with RenderPool(max_workers=1, recycle_after=2) as pool:
        served, rehearsed, rehearse = traced(pool), [], pool._rehearse

        def spy(worker):
            rehearsed.append([job.document_id for job in pool._recent])
            return rehearse(worker)
        pool._rehearse = spy
        pool.render(JOB)
        pool.render(RenderJob("# Faktura {{ invoice.number }} Łódź", None, {"invoice": {"number": "8"}},
                              "2026-03-01T10:00:00Z", "second"))  # due for recycling: the successor boots
        old = pool._idle.get(timeout=5)
        pool._idle.put(old)
        assert old.replacing
        pool.render(JOB)  # served by the old worker while the successor boots (no wait for it)
        wait_for(lambda: old.successor is not None and old.successor.booted)
        new_pid = old.successor.process.pid
        pool.render(JOB)  # still the old one; at its checkin the successor takes its place
        pool.render(JOB)
        assert [pid for pid, _ in served] == [old.process.pid] * 4 + [new_pid]
        assert all(booted for _, booted in served)
        assert rehearsed[0] == [] and rehearsed[1][:2] == ["w", "second"]  # it replayed the pool's last documents before serving
        wait_for(lambda: not old.process.is_alive(), 30)  # the old one is stopped in the background
        assert old.process.exitcode == 0  # asked to stop, not killed
    assert all(not w.process.is_alive() for w in pool._workers | {old, old.successor})


def test_the_first_workers_are_recycled_at_staggered_counts_so_boots_do_not_coincide():
    with RenderPool(max_workers=2, recycle_after=200) as pool:
        workers = [pool._idle.get(timeout=120) for _ in range(2)]
        assert sorted(w.recycle_at for w in workers) == [100, 200]
        for worker in workers:
            pool._idle.put(worker)


def test_a_crashed_worker_is_replaced_by_a_warm_one():
    with RenderPool(max_workers=1) as pool:
        worker = pool._idle.get(timeout=120)
        worker.process.kill()
        worker.process.join()
        pool._idle.put(worker)
        with pytest.raises(RenderFailed, match="worker died"):
            pool.render(JOB)
        assert not pool._recent  # a job that did not render is never replayed on a booting worker
        served = traced(pool)
        assert pool.render(JOB).startswith(b"%PDF")
        assert served[0][0] != worker.process.pid and served[0][1]


def test_close_stops_booting_workers_too():
    pool = RenderPool(max_workers=2)
    time.sleep(0.2)  # the processes exist, still importing
    pool.close()
    assert pool._threads == set()
    assert all(not w.process.is_alive() for w in pool._workers)


def test_close_waits_for_a_render_in_flight():
    pool = RenderPool(max_workers=1)
    entered, release, exchange = threading.Event(), threading.Event(), pool._exchange

    def held(worker, job):
        entered.set()
        release.wait(60)
        return exchange(worker, job)
    pool._exchange = held
    results = []
    render = threading.Thread(target=lambda: results.append(pool.render(JOB)))
    render.start()
    assert entered.wait(120)
    closer = threading.Thread(target=pool.close)
    closer.start()
    closer.join(0.5)
    assert closer.is_alive()  # waiting for the render in flight
    release.set()
    render.join(60)
    closer.join(60)
    assert not closer.is_alive() and results and results[0].startswith(b"%PDF")
    assert all(not w.process.is_alive() for w in pool._workers)


def test_billing_serve_warms_the_render_pool_and_test_servers_do_not(tmp_path):
    assert load_settings({}, environ={}).warm_render_pool is True
    assert Settings().warm_render_pool is False
    database = parse_database_url(f"sqlite:///{tmp_path / 'warm.db'}")
    cold = create_server(Settings(listen="127.0.0.1:0", database=database))
    try:
        assert cold.use_cases.rendering._pool is None  # built on the first render only
    finally:
        cold.stop(0)
    t0 = time.monotonic()
    warm = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(
        f"sqlite:///{tmp_path / 'warm2.db'}"), warm_render_pool=True))
    try:
        assert time.monotonic() - t0 < 10  # start-up does not wait for the workers
        pool = warm.use_cases.rendering._pool
        assert pool is not None
        worker = pool._idle.get(timeout=120)
        assert worker.booted
        pool._idle.put(worker)
    finally:
        warm.stop(0)
    assert all(not w.process.is_alive() for w in pool._workers)


def test_the_server_process_never_imports_borb():
    script = textwrap.dedent("""
        import sys, tempfile
        from service.config import Settings, parse_database_url
        from service.server import create_server
        db = parse_database_url("sqlite:///" + tempfile.mkdtemp() + "/x.db")
        running = create_server(Settings(listen="127.0.0.1:0", database=db, warm_render_pool=True))
        pool = running.use_cases.rendering._pool
        pool._idle.put(pool._idle.get(timeout=120))
        running.stop(0)
        sys.stdout.write(str(sorted(m for m in sys.modules if m.startswith("borb"))))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=180)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.stdout == b"[]"


def test_billing_serve_says_serving_only_once_its_render_workers_are_warm(tmp_path):
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    system = create_server(Settings(listen="127.0.0.1:0", database=parse_database_url(f"sqlite:///{tmp_path}/h.db"),
                                    warm_render_pool=True))
    system.server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{system.port}") as ch:
            health = health_pb2_grpc.HealthStub(ch)

            def serving() -> bool:
                status = health.Check(health_pb2.HealthCheckRequest(), timeout=5).status
                assert status in (health_pb2.HealthCheckResponse.NOT_SERVING, health_pb2.HealthCheckResponse.SERVING)
                return status == health_pb2.HealthCheckResponse.SERVING
            wait_for(serving)
            pool = system.use_cases.rendering._pool
            assert sum(w.booted and not w.retired for w in pool._workers) == 2  # SERVING => both warm
    finally:
        system.stop(0)
