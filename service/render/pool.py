"""A pool of renderer worker processes ('spawn'): contains borb's leaks, stdout and crashes."""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading

from service.render.job import RenderFailed, RenderJob, builtin_template_source


class _Worker:
    """One spawned process and our end of its pipe; `rendered` counts documents for recycling."""

    def __init__(self, context):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child,), daemon=True,
                                       name="billing-render-worker")
        self.process.start()
        child.close()
        self.rendered = 0

    def stop(self, grace: float = 2.0) -> None:
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

    A worker is replaced after `recycle_after` documents, after a crash, and after a render
    that exceeds `timeout` seconds; each of these surfaces as RenderFailed, never a partial PDF.
    """

    def __init__(self, max_workers: int = 2, recycle_after: int = 200, timeout: float = 120.0):
        if max_workers < 1 or recycle_after < 1:
            raise ValueError("max_workers and recycle_after must be at least 1")
        self._context = multiprocessing.get_context("spawn")
        self._recycle_after, self._timeout = recycle_after, timeout
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._size = max_workers
        self._closed = False
        self._lock = threading.Lock()
        for _ in range(max_workers):
            self._idle.put(_Worker(self._context))

    def render(self, job) -> bytes:
        worker = self._checkout()
        try:
            status, payload = self._exchange(worker, job)
        except RenderFailed:
            self._replace(worker, kill=True)
            raise
        worker.rendered += 1
        if worker.rendered >= self._recycle_after:
            self._replace(worker, kill=False)
        else:
            self._idle.put(worker)
        if status != "ok":
            raise RenderFailed(payload)
        return payload

    def close(self) -> None:
        """Stop every worker; waits for renders in flight. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for _ in range(self._size):
            self._idle.get().stop()

    def __enter__(self) -> "RenderPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _checkout(self) -> _Worker:
        if self._closed:
            raise RenderFailed("render pool is closed")
        worker = self._idle.get()
        if self._closed:
            self._idle.put(worker)
            raise RenderFailed("render pool is closed")
        return worker

    def _exchange(self, worker: _Worker, job):
        try:
            worker.conn.send(job)
            if not worker.conn.poll(self._timeout):
                raise RenderFailed(f"render took longer than {self._timeout:g} s; worker stopped")
            return worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            code = worker.process.exitcode
            raise RenderFailed(f"render worker died (exit code {code})") from None

    def _replace(self, worker: _Worker, kill: bool) -> None:
        if kill and worker.process.is_alive():
            worker.process.kill()
        worker.stop(grace=2.0)
        self._idle.put(_Worker(self._context))


def _worker_main(conn) -> None:
    """Worker loop: quiet stdout, ignore Ctrl-C (the parent decides), render until told to stop."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from service.render.hygiene import prepare  # borb is imported in the worker only
    from service.render.renderer import render_pdf

    prepare()
    _warm_up(render_pdf)
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
