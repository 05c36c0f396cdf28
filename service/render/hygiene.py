"""borb hygiene: no usage statistics, no signal-handler changes, no stdout, no layout-cache growth."""

from __future__ import annotations

import contextlib
import functools
import io
import signal
import sys
import threading

_lock = threading.RLock()  # borb is not thread-safe, and sys.stdout is process-global
_prepared = False
_cached_functions: list = []
_scanned_modules = 0
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def prepare() -> None:
    """Opt out of borb's usage statistics before anything else (borb.md pitfall 6); idempotent."""
    global _prepared
    with _lock:
        if _prepared:
            return
        saved = _handlers()
        from borb.pdf import UsageStatistics

        UsageStatistics.opt_out()
        # The every-64th-document licence notice is a bare print(); silence it at the source too.
        UsageStatistics._UsageStatistics__print_usage_warning = staticmethod(lambda: None)
        _restore(saved)
        _prepared = True


@contextlib.contextmanager
def contained():
    """Run borb work serialised, with stdout swallowed, handlers kept and caches cleared after."""
    prepare()
    with _lock:
        saved = _handlers()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                yield
        finally:
            _restore(saved)
            clear_layout_caches()


def clear_layout_caches() -> None:
    """Empty the functools caches of borb's layout classes (borb.md pitfall 4)."""
    for function in _borb_cached_functions():
        function.cache_clear()


def _borb_cached_functions() -> list:
    global _scanned_modules
    modules = [m for n, m in list(sys.modules.items()) if n.startswith("borb.") and m is not None]
    if len(modules) != _scanned_modules:
        found = []
        for module in modules:
            for value in list(vars(module).values()):
                members = vars(value).values() if isinstance(value, type) else [value]
                found.extend(m for m in members if isinstance(m, functools._lru_cache_wrapper))
        _cached_functions[:] = list({id(f): f for f in found}.values())
        _scanned_modules = len(modules)
    return _cached_functions


def _handlers() -> dict:
    return {number: signal.getsignal(number) for number in _SIGNALS}


def _restore(saved: dict) -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread can change handlers, so nothing can have changed them
    for number, handler in saved.items():
        if signal.getsignal(number) is not handler and handler is not None:
            signal.signal(number, handler)
