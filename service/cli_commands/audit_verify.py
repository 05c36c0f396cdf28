"""`billing audit verify --database URL`: the one command that opens a store directly (offline,
with the server stopped), e.g. to check a restored backup. It uses only service/audit/verify.py."""
import os
from pathlib import Path

from service.audit.verify import verify_database
from service.cli_commands.common import err, print_json, progress_bar, wants_json
from service.config import ConfigError, parse_database_url

STORE_UNAVAILABLE = 7  # like "server unreachable": the store cannot be opened
AUDIT_FAILED = 8  # audit verify found a mismatch


def add_offline_option(p) -> None:
    p.add_argument("--database", default=None, metavar="URL",
                   help="verify this store directly instead of asking the server (offline: stop the server "
                        "first); sqlite:///FILE or postgresql://user@host:port/db")


def verify_offline(args) -> int:
    url = args.database or os.environ.get("BILLING_DATABASE_URL")
    try:
        database = parse_database_url(url)
    except ConfigError as e:
        err(f"error: {e}")
        return 2
    if database.kind == "sqlite" and not database.path.startswith("file:") and not Path(database.path).is_file():
        err(f"error: no store at {database.path!r} (--database)")
        return STORE_UNAVAILABLE
    try:
        with progress_bar("events") as update:
            result = verify_database(url, update)
    except Exception as e:  # noqa: BLE001 - e.g. PostgreSQL refused the connection
        err(f"error: cannot open the store {url!r}: {e}")
        return STORE_UNAVAILABLE
    summary = (f"checked {result.events} events, {result.invoices} invoices, {result.resellers} resellers, "
               f"{result.calls} calls")
    counts = {"events": result.events, "invoices": result.invoices, "resellers": result.resellers,
              "calls": result.calls}
    return report(counts, result.problems, result.notes, args, summary)


def report(counts: dict, problems: list[str], notes: list[str], args, summary: str) -> int:
    """The verdict on stdout (one MISMATCH line per problem); exit 8 when a problem was found."""
    if wants_json(args):
        print_json({**counts, "problems": problems, "notes": notes, "clean": not problems})
    else:
        print(summary)
        for note in notes:
            print(f"note: {note}")
        for problem in problems:
            print(f"MISMATCH: {problem}")
        print("audit clean" if not problems else f"audit FAILED: {len(problems)} problem(s)")
    return 0 if not problems else AUDIT_FAILED
