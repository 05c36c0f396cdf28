"""A pool of renderer worker processes ('spawn'): contains borb's leaks, stdout and crashes.

No cold worker is ever on a request's path: a worker boots (spawn, import borb, one warm-up
render, then a rehearsal of the last documents the pool rendered, which fills its font-subset
cache) on a background thread and only then joins the idle workers; a worker due for
recycling keeps serving until its successor has booted, and is swapped out when it next comes
back from a render (its stop also runs in the background).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import shutil
import signal
import tempfile
import threading
from collections import deque

from service.render.job import RenderFailed, RenderJob, builtin_template_source

READY = ("ready", None)  # a worker's first message: booted and warmed up
REHEARSED_JOBS = 32  # the last jobs rendered, replayed by a booting worker (its font cache holds 128 sets)
# Documents after which a worker is replaced. With the caches cleared after every document
# (hygiene.py) a worker grew from 64 to 67 MB over 1,500 invoices of 5-60 lines (measured
# 2026-12-02), so recycling is a backstop, not a need: every boot costs ~2 s of CPU (spawn,
# imports, warm-up, rehearsal) that a busy 2-core machine takes from the requests being served
# (issue #11: render p99 under mixed load came from boots every 200 documents).
RECYCLE_AFTER = 2000


class _Worker:
    """One spawned process and our end of its pipe; `rendered` counts documents for recycling."""

    def __init__(self, context, fonts_dir: str | None = None):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, fonts_dir), daemon=True,
                                       name="billing-render-worker")
        self.failed = ""  # why the process could not be started, if it could not
        try:
            self.process.start()
        except Exception as error:  # noqa: BLE001 - surfaces as RenderFailed on its first job
            self.failed = f"could not start a render worker: {type(error).__name__}: {error}"
        child.close()
        self.rendered = 0
        self.recycle_at = 0  # documents after which its successor boots (set by the pool)
        self.booted = False  # its boot is settled: warmed up (or dead, or never warmed up in time)
        self.retired = False  # crashed or swapped out: it never serves again
        self.replacing = False  # a successor's boot has been started
        self.successor: _Worker | None = None  # that successor, once its process exists

    def await_ready(self, timeout: float) -> bool:
        """Wait for the worker's READY; False if it died or took longer than `timeout` (killed)."""
        if self.failed:
            return False
        try:
            if self.conn.poll(timeout):
                return self.conn.recv() == READY
        except (EOFError, OSError):
            return False
        self.kill()
        return False

    def kill(self) -> None:
        if not self.failed and self.process.is_alive():
            self.process.kill()

    def stop(self, grace: float = 2.0) -> None:
        if not self.failed:
            try:
                self.conn.send(None)
            except (OSError, ValueError):
                pass
            self.process.join(grace)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
        self.conn.close()


class RenderPool:
    """render(job) -> PDF bytes on one of `max_workers` processes; safe to call from many threads.

    The workers boot in the background from construction on (construction does not wait);
    a render waits only while no worker has booted yet. A worker is replaced after
    `recycle_after` documents (its successor boots first; the first workers are recycled after
    1/n, 2/n … of that, so that boots do not coincide), after a crash, and after a render
    that exceeds `timeout` seconds; a crash or timeout surfaces as RenderFailed, never a
    partial PDF.
    """

    def __init__(self, max_workers: int = 2, recycle_after: int = RECYCLE_AFTER, timeout: float = 120.0):
        if max_workers < 1 or recycle_after < 1:
            raise ValueError("max_workers and recycle_after must be at least 1")
        self._context = multiprocessing.get_context("spawn")
        self._recycle_after, self._timeout, self._size = recycle_after, timeout, max_workers
        self._idle: queue.Queue[_Worker] = queue.Queue()  # booted workers, ready for a job
        self._closed = False
        self._lock = threading.Condition()  # guards everything below and the workers' flags
        self._workers: set[_Worker] = set()  # every live process: idle, busy, booting, successors
        self._busy = 0
        self._threads: set[threading.Thread] = set()  # boots and background stops
        self._recent: deque = deque(maxlen=REHEARSED_JOBS)  # jobs that rendered, for booting workers
        # Font subsets one worker made, for the others (fonts.py: a subset costs ~50 ms per style).
        self._fonts_dir = tempfile.mkdtemp(prefix="billing-fonts-")
        for k in range(max_workers):
            self._in_background(self._boot, None, max(1, recycle_after * (k + 1) // max_workers))

    def wait_warm(self, timeout: float) -> bool:
        """Block until every first worker has booted (or the pool closed); False on timeout."""
        with self._lock:
            return self._lock.wait_for(
                lambda: self._closed or sum(w.booted and not w.retired for w in self._workers) >= self._size, timeout)

    def render(self, job) -> bytes:
        worker = self._checkout()
        try:
            status, payload = self._exchange(worker, job)
        except RenderFailed:
            self._replace_failed(worker)
            raise
        worker.rendered += 1
        self._checkin(worker)
        if status != "ok":
            raise RenderFailed(payload)
        self._recent.append(job)  # only jobs that rendered: a job that kills workers is never replayed
        return payload

    def close(self) -> None:
        """Stop every worker; waits for renders in flight. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            while self._busy:
                self._lock.wait()
            workers = list(self._workers)
        for worker in workers:
            if worker.retired:  # already being stopped in the background
                continue
            if worker.booted:
                self._stop(worker)
            else:  # still booting: its boot thread sees the pool closed and stops it
                worker.kill()
        while True:
            with self._lock:
                threads = list(self._threads)
            if not threads:
                break
            for thread in threads:
                thread.join()
        shutil.rmtree(self._fonts_dir, ignore_errors=True)

    def __enter__(self) -> "RenderPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- checkout and checkin ---------------------------------------------------------------
    def _checkout(self) -> _Worker:
        while True:
            if self._closed:
                raise RenderFailed("render pool is closed")
            try:
                worker = self._idle.get(timeout=0.5)  # woken at once by a checkin or a boot
            except queue.Empty:
                continue
            with self._lock:
                if not self._closed and not worker.retired:
                    self._busy += 1
                    return worker
                if self._closed:
                    self._idle.put(worker)
                    raise RenderFailed("render pool is closed")

    def _checkin(self, worker: _Worker) -> None:
        """Back to the idle workers, or swapped for its booted successor; starts the successor's
        boot when the worker is due for recycling."""
        with self._lock:
            self._busy -= 1
            successor = worker.successor
            if successor is not None and successor.booted:
                self._retire(worker)
                self._idle.put(successor)
            else:
                if worker.rendered >= worker.recycle_at and not worker.replacing and not self._closed:
                    self._replace(worker)
                self._idle.put(worker)
            self._lock.notify_all()

    def _replace_failed(self, worker: _Worker) -> None:
        """A crashed or timed-out worker: killed, and its successor (booted, booting or new) takes
        its place among the idle workers once it has booted."""
        with self._lock:
            self._busy -= 1
            self._retire(worker, kill=True)
            successor = worker.successor
            if successor is not None and successor.booted:
                self._idle.put(successor)
            elif not worker.replacing and not self._closed:
                self._replace(worker)
            self._lock.notify_all()  # (a successor still booting joins the idle workers when booted)

    def _replace(self, worker: _Worker) -> None:
        """(Lock held.) Boot the worker's successor in the background."""
        worker.replacing = True
        self._in_background(self._boot, worker)

    def _retire(self, worker: _Worker, kill: bool = False) -> None:
        """(Lock held.) The worker never serves again; it is stopped in the background."""
        worker.retired = True
        if kill:
            worker.kill()
        self._in_background(self._stop, worker)

    # ---- background work ----------------------------------------------------------------------
    def _in_background(self, target, *args) -> None:
        """(Lock held, or in __init__.) Run target(*args) on a tracked daemon thread."""
        thread = threading.Thread(target=self._tracked, args=(target, *args), daemon=True,
                                  name="billing-render-pool")
        self._threads.add(thread)
        thread.start()

    def _tracked(self, target, *args) -> None:
        try:
            target(*args)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _boot(self, predecessor: _Worker | None, recycle_at: int | None = None) -> None:
        """Start a worker and wait until it has warmed up; then it joins the idle workers (or, as
        the successor of a worker still serving, waits to be swapped in at that one's checkin)."""
        with self._lock:
            if self._closed:
                return
        worker = _Worker(self._context, self._fonts_dir)
        worker.recycle_at = recycle_at or self._recycle_after
        with self._lock:
            self._workers.add(worker)
            if predecessor is not None:
                predecessor.successor = worker
            closed = self._closed
        ready = not closed and worker.await_ready(self._timeout) and self._rehearse(worker)
        with self._lock:
            if self._closed:
                closed = True
            elif not ready and predecessor is not None and not predecessor.retired:
                predecessor.successor, predecessor.replacing = None, False  # it serves on; a later checkin retries
                self._retire(worker, kill=True)
            else:  # booted, or dead (with no one else to take the place: it fails one render, as any crash)
                worker.booted = True
                if predecessor is None or predecessor.retired:
                    self._idle.put(worker)
                self._lock.notify_all()
        if closed:
            self._stop(worker)

    def _rehearse(self, worker: _Worker) -> bool:
        """Render the pool's last jobs on a booting worker, results discarded: the documents being
        rendered now find their fonts already subset. False if the worker died or hung (killed)."""
        for job in list(self._recent):
            try:
                worker.conn.send(job)
                if not worker.conn.poll(self._timeout):
                    worker.kill()
                    return False
                worker.conn.recv()
            except (EOFError, OSError):
                self._recent.clear()  # never replay what may have killed it
                return False
        return True

    def _stop(self, worker: _Worker) -> None:
        worker.stop(grace=2.0)
        with self._lock:
            self._workers.discard(worker)

    def _exchange(self, worker: _Worker, job):
        if worker.failed:
            raise RenderFailed(worker.failed)
        try:
            worker.conn.send(job)
            if not worker.conn.poll(self._timeout):
                raise RenderFailed(f"render took longer than {self._timeout:g} s; worker stopped")
            return worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            code = worker.process.exitcode
            raise RenderFailed(f"render worker died (exit code {code})") from None


def _worker_main(conn, fonts_dir: str | None = None) -> None:
    """Worker loop: quiet stdout, ignore Ctrl-C (the parent decides), warm up, say READY, then
    render until told to stop."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from service.render.fonts import share_subsets
    from service.render.hygiene import prepare  # borb is imported in the worker only
    from service.render.renderer import render_pdf

    share_subsets(fonts_dir)
    prepare()
    _warm_up(render_pdf)
    try:
        conn.send(READY)
    except (OSError, ValueError):
        return
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            conn.send(("ok", render_pdf(job)))
        except RenderFailed as error:
            conn.send(("failed", str(error)))
        except Exception as error:  # anything else is still an answer, not a dead worker
            conn.send(("failed", f"renderer error: {type(error).__name__}: {error}"))


def _warm_up(render_pdf) -> None:
    """Import borb and load the fonts before the first real job arrives."""
    try:
        render_pdf(RenderJob(builtin_template_source(), None, None, "2000-01-01T00:00:00Z", "warm-up"))
    except Exception:
        pass
