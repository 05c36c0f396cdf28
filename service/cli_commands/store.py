"""Commands that open the event store directly (`--database`), not through the server."""
import argparse
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from service.cli_commands.common import CliError, err

DEFAULT_DATABASE = "sqlite:///billing.db"
STORE_UNAVAILABLE = 7  # like "server unreachable": the store cannot be opened
AUDIT_FAILED = 8  # audit verify found a mismatch


def database_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("store")
    g.add_argument("--database", default=None,
                   help=f"the server's store: sqlite:///FILE or postgresql://user@host:port/db "
                        f"(env BILLING_DATABASE_URL, default {DEFAULT_DATABASE})")
    g.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON for scripts")
    return p


@contextmanager
def open_store(args) -> Iterator:
    """The BillingApplication on the store named by --database / BILLING_DATABASE_URL (never a new one)."""
    from service.application import BillingApplication
    from service.config import ConfigError, parse_database_url
    url = args.database or os.environ.get("BILLING_DATABASE_URL") or DEFAULT_DATABASE
    try:
        database = parse_database_url(url)
    except ConfigError as e:
        raise CliError(str(e)) from None
    if database.kind == "sqlite" and not database.path.startswith("file:") and not Path(database.path).is_file():
        raise CliError(f"no store at {database.path!r} (--database / BILLING_DATABASE_URL)", STORE_UNAVAILABLE)
    try:
        app = BillingApplication(database)
    except Exception as e:  # noqa: BLE001 - e.g. PostgreSQL refused the connection
        raise CliError(f"cannot open the store {url!r}: {e}", STORE_UNAVAILABLE) from None
    try:
        yield app
    finally:
        app.close()


def store_command(handler):
    """Wrap `handler(app, args) -> int` with the store opened and CliError → exit code."""
    def run(args) -> int:
        try:
            with open_store(args) as app:
                return handler(app, args) or 0
        except CliError as e:
            err(f"error: {e.message}")
            return e.code
    return run


@contextmanager
def progress_bar(description: str) -> Iterator:
    """A progress bar on stderr; yields update(done, total)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    console = Console(file=sys.stderr)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=not console.is_terminal) as progress:
        tasks: dict[str, int] = {}

        def update(done: int, total: int, phase: str = description) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done, total=total)
        yield update
