"""What the runner, the rebuild and `audit verify` need from a read model, plus shared helpers.

A read model keeps one table set per *generation*: the tracking row names the live one,
a rebuild fills the next generation and swaps the tracking row in one transaction.
"""
from typing import Protocol

from projections.documents import Change, dumps, loads, voided


class ReadModel(Protocol):
    name: str

    def tables(self, generation: int) -> list[str]:
        """The tables of one generation, dropped in this order."""

    def create(self, sql, generation: int) -> None:
        """Create the generation's tables and indexes if they do not exist."""

    def apply(self, sql, generation: int, changes: list[Change]) -> None:
        """Apply changes in order (called inside the transaction that also moves the tracking row)."""

    def dump(self, sql, generation: int) -> dict[str, tuple]:
        """Every stored row by invoice id, shaped like `row()` (for audit verify)."""

    def row(self, doc: dict, position: int) -> tuple:
        """The stored row of a document (invoice_id first)."""


class DocumentTable:
    """Shared apply/dump for a table holding `row(doc, position)` per invoice with the doc as JSON."""

    name = ""
    ddl = ""  # CREATE TABLE with a {t} for the table name
    columns: tuple[str, ...] = ()  # the row's columns, invoice_id first, doc last

    def tables(self, generation: int) -> list[str]:
        return [self.table(generation)]

    def create(self, sql, generation: int) -> None:
        """The table plus the indexes every read of it orders or filters by."""
        t = self.table(generation)
        sql.execute(self.ddl.format(t=t))
        sql.execute(f"CREATE INDEX IF NOT EXISTS {t}_seq ON {t} (sequence)")
        sql.execute(f"CREATE INDEX IF NOT EXISTS {t}_reseller ON {t} (reseller_id, sequence)")

    def table(self, generation: int) -> str:
        return f"proj_{self.name}_{generation}"

    def apply(self, sql, generation: int, changes: list[Change]) -> None:
        pending: list[tuple] = []
        for change in changes:
            if change.kind == "issued":
                pending.append(self.stored(self.row(change.doc, change.position), change.text or None))
                continue
            self.insert(sql, generation, pending)
            pending = []
            self.void(sql, generation, change)
        self.insert(sql, generation, pending)

    def insert(self, sql, generation: int, rows: list[tuple]) -> None:
        """Insert stored rows (documents as JSON)."""
        if rows:
            marks = ",".join("?" * len(self.columns))
            sql.executemany(f"INSERT INTO {self.table(generation)} ({','.join(self.columns)}) VALUES ({marks})", rows)

    def void(self, sql, generation: int, change: Change) -> None:
        table = self.table(generation)
        found = sql.execute(f"SELECT doc FROM {table} WHERE invoice_id = ?", (change.invoice_id,)).fetchall()
        if not found:
            raise LookupError(f"{self.name}: voided invoice {change.invoice_id} has no row")
        row = self.stored(self.row(voided(loads(found[0][0]), change.reason), change.position))
        assigns = ", ".join(f"{c} = ?" for c in self.columns[1:])
        sql.execute(f"UPDATE {table} SET {assigns} WHERE invoice_id = ?", (*row[1:], row[0]))

    def dump(self, sql, generation: int) -> dict[str, tuple]:
        rows = sql.execute(f"SELECT {','.join(self.columns)} FROM {self.table(generation)}").fetchall()
        return {r[0]: (*r[:-1], loads(r[-1])) for r in rows}

    def row(self, doc: dict, position: int) -> tuple:
        raise NotImplementedError

    @staticmethod
    def stored(row: tuple, text: str | None = None) -> tuple:
        """A row with its document (last) as JSON text (`text` when already serialised)."""
        return (*row[:-1], text if text is not None else dumps(row[-1]))

    @staticmethod
    def parse(text: str) -> dict:
        return loads(text)
