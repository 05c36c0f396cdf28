"""What the runner, the rebuild and `audit verify` need from a read model, plus shared helpers.

A read model keeps one table set per *generation*: the tracking row names the live one,
a rebuild fills the next generation and swaps the tracking row in one transaction. `shape`
names the version of a model's tables and documents: a server that finds a different shape
recorded rebuilds before it serves (projections/tracking.py).
"""
from typing import Protocol

from projections.documents import Change, dumps, loads


class ReadModel(Protocol):
    name: str
    shape: str

    def tables(self, generation: int) -> list[str]:
        """The tables of one generation, dropped in this order."""

    def create(self, sql, generation: int) -> None:
        """Create the generation's tables and indexes if they do not exist."""

    def apply(self, sql, generation: int, changes: list[Change]) -> None:
        """Apply changes in order (called inside the transaction that also moves the tracking row)."""

    def dump(self, sql, generation: int) -> dict[str, tuple]:
        """Every stored row by document id, shaped like `row()` (for audit verify)."""

    def row(self, doc: dict, position: int) -> tuple:
        """The stored row of a document (its id first, the document last)."""


class DocumentTable:
    """Shared apply/dump for a table holding `row(doc, position)` per document, the doc as JSON.

    `inserts` are the change kinds that add a row, `updates` the ones that replace a row's
    document (keeping its ordinal)."""

    name = ""
    shape = "1"
    ddl = ""  # CREATE TABLE with a {t} for the table name
    columns: tuple[str, ...] = ()  # the row's columns, the document id first, the doc last
    inserts: frozenset[str] = frozenset({"invoice"})
    updates: frozenset[str] = frozenset({"invoice_update"})
    index_columns: tuple[str, ...] = ("reseller_id",)  # each gets an index (column, ordinal)

    def tables(self, generation: int) -> list[str]:
        return [self.table(generation)]

    def create(self, sql, generation: int) -> None:
        """The table plus the indexes every read of it orders or filters by."""
        t = self.table(generation)
        sql.execute(self.ddl.format(t=t))
        sql.execute(f"CREATE INDEX IF NOT EXISTS {t}_ord ON {t} (ordinal)")
        for column in self.index_columns:
            sql.execute(f"CREATE INDEX IF NOT EXISTS {t}_{column} ON {t} ({column}, ordinal)")

    def table(self, generation: int) -> str:
        return f"proj_{self.name}_{generation}"

    def apply(self, sql, generation: int, changes: list[Change]) -> None:
        pending: list[tuple] = []
        for change in changes:
            if change.kind in self.inserts:
                pending.append(self.stored(self.row(change.doc, change.position), change.text or None))
            elif change.kind in self.updates:
                self.insert(sql, generation, pending)
                pending = []
                self.update(sql, generation, change)
        self.insert(sql, generation, pending)

    def insert(self, sql, generation: int, rows: list[tuple]) -> None:
        """Insert stored rows (documents as JSON)."""
        if rows:
            marks = ",".join("?" * len(self.columns))
            sql.executemany(f"INSERT INTO {self.table(generation)} ({','.join(self.columns)}) VALUES ({marks})", rows)

    def update(self, sql, generation: int, change: Change) -> None:
        table, key = self.table(generation), self.columns[0]
        found = sql.execute(f"SELECT doc FROM {table} WHERE {key} = ?", (change.document_id,)).fetchall()
        if not found:
            raise LookupError(f"{self.name}: changed document {change.document_id} has no row")
        doc = {**change.doc, "ordinal": loads(found[0][0])["ordinal"]}
        row = self.stored(self.row(doc, change.position))
        assigns = ", ".join(f"{c} = ?" for c in self.columns[1:])
        sql.execute(f"UPDATE {table} SET {assigns} WHERE {key} = ?", (*row[1:], row[0]))

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
