"""Read model: the invoice search index (SearchInvoices), one interface on SQLite and PostgreSQL.

An invoice matches when every folded query word is a substring of its folded haystack:
number, reseller name (as billed), reseller id, subtotal, tax, total, issue date and
period dates. SQLite answers words of 3+ characters from an FTS5 trigram index and
shorter ones with LIKE; PostgreSQL uses LIKE on a pg_trgm GIN index for every word.

Neither trigram index can answer a word of one or two characters, so one that matches nothing
scanned every row (`zz` at 100k invoices: 40–80 ms, the mix's p99; issue #11). A small table of
every one- and two-character sequence that occurs in any haystack (a few hundred rows) answers
"none" with one lookup before the search. It only grows (an invoice's haystack never loses
text), so it never excludes a match.

The table is narrow (shape 3): what a search filters and orders by, no document. A search
finds the page's invoice ids newest first with its LIMIT there, and only that page's
documents are read, from the invoice list's table (the same documents: both models apply
the same changes in the same transactions, and a rebuild swaps their generations together).
"""
import operator
from dataclasses import dataclass
from datetime import date

from projections.invoice_list import InvoiceList, Receivable, owes, receivable_conditions
from projections.model import DocumentTable
from projections.text import FIELD_SEPARATOR, haystack, like_pattern, query_words

DDL = """CREATE TABLE IF NOT EXISTS {t} (
    invoice_id TEXT PRIMARY KEY,
    ordinal BIGINT NOT NULL,
    reseller_id TEXT NOT NULL,
    status TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    haystack TEXT NOT NULL,
    payment_status TEXT NOT NULL,
    due_date TEXT NOT NULL,
    owes INTEGER NOT NULL,
    position BIGINT NOT NULL)"""
TRIGRAM = 3  # the shortest word a trigram index can answer
SHORT = 2  # words of at most this length are first looked up in the short-sequences table


@dataclass(frozen=True)
class SearchFilter:
    query: str = ""
    reseller_id: str = ""
    status: str = ""  # "" = any, or an InvoiceStatus word
    issued_from: date | None = None
    issued_to: date | None = None
    receivable: Receivable = Receivable()


def searchable_text(doc: dict) -> str:
    """The folded text a query word must be a substring of (bill-to address lines excluded)."""
    return haystack([doc["number"], doc["bill_to"]["name"], doc["reseller_id"], doc["subtotal"], doc["tax"],
                     doc["total"], doc["issue_date"], doc["period"]["start"], doc["period"]["end"]])


def short_sequences(haystacks: list[str]) -> set[str]:
    """Every one- and two-character sequence of the haystacks, but those across two fields (a query
    word never holds the separator)."""
    found: set[str] = set()
    for text in haystacks:
        found.update(text)
        found.update(map(operator.add, text, text[1:]))
    return {seq for seq in found if FIELD_SEPARATOR not in seq}


class InvoiceSearch(DocumentTable):
    name = "invoice_search"
    shape = "4"  # 2: ordinal order, receivable filters, folding of Ł/Ø/Æ… (Part II); 3: narrow (no doc);
    # 4: the short-sequences table
    ddl = DDL
    columns = ("invoice_id", "ordinal", "reseller_id", "status", "issue_date", "haystack", "payment_status",
               "due_date", "owes", "position")
    ORDINAL, HAYSTACK = columns.index("ordinal"), columns.index("haystack")  # in a row (`row`, dumps)
    holds_doc = False
    documents = InvoiceList()  # the read model whose table holds the documents

    def row(self, doc: dict, position: int) -> tuple:
        return (doc["invoice_id"], doc["ordinal"], doc["reseller_id"], doc["status"], doc["issue_date"],
                searchable_text(doc), doc["payment_status"], doc["due_date"], owes(doc), position)

    def shorts(self, generation: int) -> str:
        """The table of the one- and two-character sequences that occur in some haystack."""
        return f"{self.table(generation)}_shorts"

    def tables(self, generation: int) -> list[str]:
        return [self.table(generation), self.shorts(generation)]

    def create(self, sql, generation: int, indexes: bool = True) -> None:
        super().create(sql, generation, indexes)
        sql.execute(f"CREATE TABLE IF NOT EXISTS {self.shorts(generation)} (seq TEXT PRIMARY KEY)")

    def insert(self, sql, generation: int, rows: list[tuple]) -> None:
        super().insert(sql, generation, rows)
        self.add_shorts(sql, generation, [r[self.HAYSTACK] for r in rows])

    def update(self, sql, generation: int, change) -> None:
        super().update(sql, generation, change)
        self.add_shorts(sql, generation, [searchable_text(change.doc)])

    def add_shorts(self, sql, generation: int, haystacks: list[str]) -> None:
        """Store the sequences not stored yet: found against the stored ones (read once per transaction,
        kept on its `sql`), since inserting every sequence of every row with ON CONFLICT cost a
        PostgreSQL rebuild a third of its speed."""
        known = sql.memo.get(("shorts", generation))
        if known is None:
            known = sql.memo[("shorts", generation)] = self.stored_shorts(sql, generation)
        new = short_sequences(haystacks) - known
        if new:
            sql.executemany(f"INSERT INTO {self.shorts(generation)} (seq) VALUES (?) ON CONFLICT (seq) DO NOTHING",
                            [(seq,) for seq in new])
            known |= new

    def stored_shorts(self, sql, generation: int) -> set[str]:
        return {r[0] for r in sql.execute(f"SELECT seq FROM {self.shorts(generation)}").fetchall()}

    @classmethod
    def missing_shorts(cls, stored: set[str], rows: list[tuple]) -> list[str]:
        """The short sequences of these stored rows' haystacks that are not `stored` (audit verify: a
        missing one would make searches for it find nothing)."""
        return sorted(short_sequences([row[cls.HAYSTACK] for row in rows]) - stored)

    def occur(self, sql, generation: int, words: list[str]) -> bool:
        """False if a word of one or two characters occurs in no haystack (then nothing matches)."""
        short = sorted({w for w in words if len(w) <= SHORT})
        if not short:
            return True
        found = sql.execute(f"SELECT COUNT(*) FROM {self.shorts(generation)} WHERE seq IN "
                            f"({','.join('?' * len(short))})", short).fetchall()
        return int(found[0][0]) == len(short)

    def search(self, sql, generation: int, f: SearchFilter, before: int, limit: int) -> list[tuple[dict, int]]:
        """Matching invoices newest first (by ordinal) below `before`: [(doc, position)]."""
        where, params = ["ordinal < ?"], [before]
        for column, value in (("reseller_id", f.reseller_id), ("status", f.status)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if f.issued_from:
            where.append("issue_date >= ?")
            params.append(f.issued_from.isoformat())
        if f.issued_to:
            where.append("issue_date <= ?")
            params.append(f.issued_to.isoformat())
        receivable_conditions(f.receivable, where, params)
        words = query_words(f.query)
        if not self.occur(sql, generation, words):
            return []
        self.match(generation, words, where, params)
        docs = self.documents.table(self.documents_generation(sql))
        rows = sql.execute(f"SELECT d.doc, s.position FROM (SELECT invoice_id, ordinal, position FROM "
                           f"{self.table(generation)} WHERE {' AND '.join(where)} ORDER BY ordinal DESC LIMIT ?) s "
                           f"JOIN {docs} d ON d.invoice_id = s.invoice_id ORDER BY s.ordinal DESC",
                           (*params, limit)).fetchall()
        return [(self.parse(d), int(p)) for d, p in rows]

    def documents_generation(self, sql) -> int:
        """The live generation of the documents' table (swapped together with this one's by a rebuild)."""
        found = sql.execute("SELECT generation FROM billing_projections WHERE name = ?",
                            (self.documents.name,)).fetchall()
        if not found:
            raise LookupError(f"projection {self.documents.name} is not set up")
        return int(found[0][0])

    def match(self, generation: int, words: list[str], where: list[str], params: list) -> None:
        """Add the word conditions (backend-specific)."""
        for word in words:
            where.append("haystack LIKE ? ESCAPE '\\'")
            params.append(like_pattern(word))


class PostgresInvoiceSearch(InvoiceSearch):
    def index(self, sql, generation: int) -> None:
        t = self.table(generation)
        sql.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        sql.execute(f"CREATE INDEX IF NOT EXISTS {t}_trgm ON {t} USING gin (haystack gin_trgm_ops)")
        super().index(sql, generation)


class SQLiteInvoiceSearch(InvoiceSearch):
    """The FTS5 trigram index is one more table; a rebuild fills it like an index: once the rows are
    in, with one INSERT … SELECT (about half the time of filling it page by page)."""

    def __init__(self):
        self.filling: set[int] = set()  # generations created without indexes: FTS rows come at create_indexes

    def fts(self, generation: int) -> str:
        return f"{self.table(generation)}_fts"

    def tables(self, generation: int) -> list[str]:
        return [self.fts(generation), *super().tables(generation)]

    def create(self, sql, generation: int, indexes: bool = True) -> None:
        super().create(sql, generation, indexes)
        sql.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {self.fts(generation)} "
                    "USING fts5(haystack, tokenize='trigram', content='')")
        if not indexes:
            self.filling.add(generation)

    def index(self, sql, generation: int) -> None:
        super().index(sql, generation)
        if generation in self.filling:
            sql.execute(f"INSERT INTO {self.fts(generation)} (rowid, haystack) "
                        f"SELECT ordinal, haystack FROM {self.table(generation)}")
            self.filling.discard(generation)

    def insert(self, sql, generation: int, rows: list[tuple]) -> None:
        super().insert(sql, generation, rows)
        if rows and generation not in self.filling:
            sql.executemany(f"INSERT INTO {self.fts(generation)} (rowid, haystack) VALUES (?, ?)",
                            [(r[self.ORDINAL], r[self.HAYSTACK]) for r in rows])  # rowid = ordinal

    def match(self, generation: int, words: list[str], where: list[str], params: list) -> None:
        long = [w for w in words if len(w) >= TRIGRAM]
        if long:  # each word a quoted FTS5 string: quotes, operators and NEAR( are plain text
            where.append(f"ordinal IN (SELECT rowid FROM {self.fts(generation)} WHERE {self.fts(generation)} MATCH ?)")
            params.append(" ".join('"' + w.replace('"', '""') + '"' for w in long))
        super().match(generation, [w for w in words if len(w) < TRIGRAM], where, params)


def invoice_search(postgres: bool) -> InvoiceSearch:
    return PostgresInvoiceSearch() if postgres else SQLiteInvoiceSearch()
