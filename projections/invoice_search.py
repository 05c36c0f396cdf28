"""Read model: the invoice search index (SearchInvoices), one interface on SQLite and PostgreSQL.

An invoice matches when every folded query word is a substring of its folded haystack:
number, reseller name (as billed), reseller id, subtotal, tax, total, issue date and
period dates. SQLite answers words of 3+ characters from an FTS5 trigram index and
shorter ones with LIKE; PostgreSQL uses LIKE on a pg_trgm GIN index for every word.

The table is narrow (shape 3): what a search filters and orders by, no document. A search
finds the page's invoice ids newest first with its LIMIT there, and only that page's
documents are read, from the invoice list's table (the same documents: both models apply
the same changes in the same transactions, and a rebuild swaps their generations together).
"""
from dataclasses import dataclass
from datetime import date

from projections.invoice_list import InvoiceList, Receivable, owes, receivable_conditions
from projections.model import DocumentTable
from projections.text import haystack, like_pattern, query_words

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


class InvoiceSearch(DocumentTable):
    name = "invoice_search"
    shape = "3"  # 2: ordinal order, receivable filters, folding of Ł/Ø/Æ… (Part II); 3: narrow (no doc)
    ddl = DDL
    columns = ("invoice_id", "ordinal", "reseller_id", "status", "issue_date", "haystack", "payment_status",
               "due_date", "owes", "position")
    holds_doc = False
    documents = InvoiceList()  # the read model whose table holds the documents

    def row(self, doc: dict, position: int) -> tuple:
        return (doc["invoice_id"], doc["ordinal"], doc["reseller_id"], doc["status"], doc["issue_date"],
                searchable_text(doc), doc["payment_status"], doc["due_date"], owes(doc), position)

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
        self.match(generation, query_words(f.query), where, params)
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
        return [self.fts(generation), self.table(generation)]

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
                            [(r[1], r[5]) for r in rows])  # rowid = ordinal

    def match(self, generation: int, words: list[str], where: list[str], params: list) -> None:
        long = [w for w in words if len(w) >= TRIGRAM]
        if long:  # each word a quoted FTS5 string: quotes, operators and NEAR( are plain text
            where.append(f"ordinal IN (SELECT rowid FROM {self.fts(generation)} WHERE {self.fts(generation)} MATCH ?)")
            params.append(" ".join('"' + w.replace('"', '""') + '"' for w in long))
        super().match(generation, [w for w in words if len(w) < TRIGRAM], where, params)


def invoice_search(postgres: bool) -> InvoiceSearch:
    return PostgresInvoiceSearch() if postgres else SQLiteInvoiceSearch()
