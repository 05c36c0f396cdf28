"""`billing serve`: build the system (service/bootstrap.py), serve until SIGTERM/SIGINT, drain, stop."""
import logging
import signal
import sys
import threading

from service.bootstrap import ConsoleStartError, System, create_server, start_console
from service.config import Settings

log = logging.getLogger("billing.server")

__all__ = ["System", "create_server", "serve"]


def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT, then drain in-flight RPCs for the grace period and return 0."""
    running = create_server(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # before serving: a signal never meets the default handler
        signal.signal(sig, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: running.edge.reload_tokens())  # re-read the tokens file
    running.server.start()
    log.info("serving on %s (database: %s; %s)", settings.listen, settings.database.kind, running.edge.describe())
    try:
        console = start_console(running, settings)  # a client of the port just started
    except ConsoleStartError as e:
        print(f"billing serve: {e}", file=sys.stderr)
        running.stop(0)
        return 1
    if not settings.tokens_file:
        log.warning("authentication is off (no tokens file); serving on loopback only")
    # A signal delivered to one of gRPC's threads does not interrupt a main thread blocked in an
    # untimed wait (its handler runs only when the main thread next runs bytecode): wake up often.
    while not stop.wait(0.2):
        pass
    log.info("shutting down: draining in-flight RPCs for up to %.1f s", settings.grace_seconds)
    if console:
        console.stop()  # first: no new page starts RPCs while the server drains
    running.stop(settings.grace_seconds)
    log.info("stopped")
    return 0
