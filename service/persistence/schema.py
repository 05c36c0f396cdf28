"""DDL of the tables that live beside the event store (same database, same transactions)."""

# Written in the SQL both SQLite and PostgreSQL accept; BIGINT is INTEGER to SQLite.
TABLES = [
    # The call ledger: one row per (reseller, call); append-only, never updated.
    """CREATE TABLE IF NOT EXISTS billing_calls (
        reseller_id TEXT NOT NULL,
        call_id TEXT NOT NULL,
        started_ns BIGINT NOT NULL,
        local_day INTEGER NOT NULL,
        billed_seconds BIGINT NOT NULL,
        destination TEXT NOT NULL,
        destination_group TEXT NOT NULL,
        amount_units BIGINT NOT NULL,
        amount_nanos BIGINT NOT NULL,
        late_for TEXT NOT NULL,
        batch_seq BIGINT NOT NULL,
        PRIMARY KEY (reseller_id, call_id)){clustered}""",
    # Per (reseller, local day, destination group, late_for) sums of the ledger,
    # written in the same transaction as the calls. late_for is '' or the id of
    # the non-void invoice that already covered that day when the calls arrived.
    """CREATE TABLE IF NOT EXISTS billing_call_rollups (
        reseller_id TEXT NOT NULL,
        local_day INTEGER NOT NULL,
        destination_group TEXT NOT NULL,
        late_for TEXT NOT NULL,
        calls BIGINT NOT NULL,
        billed_seconds BIGINT NOT NULL,
        amount_units BIGINT NOT NULL,
        amount_nanos BIGINT NOT NULL,
        PRIMARY KEY (reseller_id, local_day, destination_group, late_for)){clustered}""",
    # Billing terms the ingest path needs, kept in step with Reseller events, and
    # batch_seq: the number of call batches stored for the reseller so far. Each
    # call row carries the batch_seq it arrived with, and each invoice the
    # batch_seq it covers, so "the calls stored before the invoice" is exact.
    """CREATE TABLE IF NOT EXISTS billing_resellers (
        reseller_id TEXT PRIMARY KEY,
        currency TEXT NOT NULL,
        time_zone TEXT NOT NULL,
        batch_seq BIGINT NOT NULL DEFAULT 0)""",
    # The first release's invoice index (number -> id, active periods). Read once below to fill
    # billing_documents, which replaced it; never written any more.
    """CREATE TABLE IF NOT EXISTS billing_invoices (
        invoice_id TEXT PRIMARY KEY,
        reseller_id TEXT NOT NULL,
        number TEXT NOT NULL UNIQUE,
        sequence BIGINT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        start_day INTEGER NOT NULL,
        end_day INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS billing_invoices_reseller ON billing_invoices (reseller_id, sequence)",
    # Every document's number (unique across invoices and credit notes), series, status and
    # period, kept in step with the documents' events.
    """CREATE TABLE IF NOT EXISTS billing_documents (
        document_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        reseller_id TEXT NOT NULL,
        number TEXT NOT NULL UNIQUE,
        series_id TEXT NOT NULL,
        sequence BIGINT NOT NULL,
        status TEXT NOT NULL,
        start_day INTEGER NOT NULL,
        end_day INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS billing_documents_active ON billing_documents (reseller_id, kind, status)",
    # The numbering series created by UpsertSeries (the built-in ones are not listed here).
    """CREATE TABLE IF NOT EXISTS billing_series (
        series_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL)""",
]


def statements(sqlite: bool) -> list[str]:
    """TABLES for one backend; on SQLite the ledger tables are clustered on their key
    (WITHOUT ROWID: one b-tree per insert instead of table + index)."""
    return [t.replace("{clustered}", " WITHOUT ROWID" if sqlite else "") for t in TABLES]


# Once, on a store written by the first release: its invoices (all of the built-in series).
FIRST_RELEASE_DOCUMENTS = """INSERT INTO billing_documents (document_id, kind, reseller_id, number, series_id,
    sequence, status, start_day, end_day)
    SELECT invoice_id, 'INVOICE', reseller_id, number, 'invoices', sequence, status, start_day, end_day
    FROM billing_invoices"""


def fill_documents_from_first_release(backend) -> None:
    """Copy the first release's invoice index into billing_documents when that is still empty.

    Only reads when there is nothing to do (every open but the first after an upgrade), so opening
    a store a server is writing to (e.g. `billing audit verify --database`) never needs the write lock."""
    with backend.transaction(write=False) as sql:
        if sql.execute("SELECT 1 FROM billing_documents LIMIT 1").fetchall():
            return
        if not sql.execute("SELECT 1 FROM billing_invoices LIMIT 1").fetchall():
            return
    with backend.transaction() as sql:
        if not sql.execute("SELECT 1 FROM billing_documents LIMIT 1").fetchall():
            sql.execute(FIRST_RELEASE_DOCUMENTS)
