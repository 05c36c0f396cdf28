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

    def create(self, sql, generation: int, indexes: bool = True) -> None:
        """Create the generation's tables, and unless `indexes` is False their secondary indexes, if
        they do not exist (a rebuild fills a new generation without them, then `create_indexes`)."""

    def create_indexes(self, sql, generation: int) -> None:
        """Create the generation's secondary indexes if they do not exist, and refresh the planner's
        statistics of its tables (PostgreSQL; a rebuild calls this once the tables are filled)."""

    def apply(self, sql, generation: int, changes: list[Change]) -> None:
        """Apply changes in order (called inside the transaction that also moves the tracking row)."""

    def dump(self, sql, generation: int) -> dict[str, tuple]:
        """Every stored row by document id, shaped like `row()` (for audit verify)."""

    def row(self, doc: dict, position: int) -> tuple:
        """The stored row of a document (its id first; the document last when the table holds it)."""


class DocumentTable:
    """Shared apply/dump for a table holding `row(doc, position)` per document, the doc as JSON
    (last column) unless `holds_doc` is False (a narrow table: the documents live in another one).

    `inserts` are the change kinds that add a row, `updates` the ones that replace a row's
    document (keeping its ordinal)."""

    name = ""
    shape = "1"
    ddl = ""  # CREATE TABLE with a {t} for the table name
    columns: tuple[str, ...] = ()  # the row's columns, the document id first, the doc last
    inserts: frozenset[str] = frozenset({"invoice"})
    updates: frozenset[str] = frozenset({"invoice_update"})
    index_columns: tuple[str, ...] = ("reseller_id",)  # each gets an index (column, ordinal)
    holds_doc = True  # the last column is the document as JSON

    def tables(self, generation: int) -> list[str]:
        return [self.table(generation)]

    def create(self, sql, generation: int, indexes: bool = True) -> None:
        """The table plus (unless `indexes` is False) the indexes every read of it orders or filters by."""
        sql.execute(self.ddl.format(t=self.table(generation)))
        if indexes:
            self.index(sql, generation)

    def create_indexes(self, sql, generation: int) -> None:
        self.index(sql, generation)
        if sql.postgres:  # a filled table's statistics now, not whenever autovacuum gets to it (if it is on)
            for table in self.tables(generation):
                sql.execute(f"ANALYZE {table}")

    def index(self, sql, generation: int) -> None:
        """The secondary indexes (the primary key comes with the table)."""
        t = self.table(generation)
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
        """Insert stored rows (documents as JSON); on PostgreSQL with COPY (one round trip, no per-row
        statement)."""
        if not rows:
            return
        if sql.postgres:
            with sql.cursor.copy(f"COPY {self.table(generation)} ({','.join(self.columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ",".join("?" * len(self.columns))
        sql.executemany(f"INSERT INTO {self.table(generation)} ({','.join(self.columns)}) VALUES ({marks})", rows)

    def update(self, sql, generation: int, change: Change) -> None:
        table, key = self.table(generation), self.columns[0]
        found = sql.execute(f"SELECT ordinal FROM {table} WHERE {key} = ?", (change.document_id,)).fetchall()
        if not found:
            raise LookupError(f"{self.name}: changed document {change.document_id} has no row")
        doc = {**change.doc, "ordinal": int(found[0][0])}
        row = self.stored(self.row(doc, change.position))
        assigns = ", ".join(f"{c} = ?" for c in self.columns[1:])
        sql.execute(f"UPDATE {table} SET {assigns} WHERE {key} = ?", (*row[1:], row[0]))

    def dump(self, sql, generation: int) -> dict[str, tuple]:
        return self.parse_dump(self.dump_text(sql, generation))

    def dump_text(self, sql, generation: int) -> list[tuple]:
        """Every stored row as stored (documents as JSON text): the SQL part of `dump`."""
        return sql.execute(f"SELECT {','.join(self.columns)} FROM {self.table(generation)}").fetchall()

    def parse_dump(self, rows: list[tuple]) -> dict[str, tuple]:
        """`dump_text`'s rows by document id, shaped like `row()` (documents parsed)."""
        if not self.holds_doc:
            return {r[0]: tuple(r) for r in rows}
        return {r[0]: (*r[:-1], loads(r[-1])) for r in rows}

    def row(self, doc: dict, position: int) -> tuple:
        raise NotImplementedError

    def stored(self, row: tuple, text: str | None = None) -> tuple:
        """A row with its document (last) as JSON text (`text` when already serialised)."""
        if not self.holds_doc:
            return row
        return (*row[:-1], text if text is not None else dumps(row[-1]))

    @staticmethod
    def parse(text: str) -> dict:
        return loads(text)
