"""Read model: the credit notes (ListCreditNotes) — per reseller and per invoice, newest first."""
from projections.model import DocumentTable

DDL = """CREATE TABLE IF NOT EXISTS {t} (
    credit_note_id TEXT PRIMARY KEY,
    ordinal BIGINT NOT NULL,
    number TEXT NOT NULL,
    reseller_id TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    doc TEXT NOT NULL)"""


class CreditNoteList(DocumentTable):
    name = "credit_note_list"
    shape = "1"
    ddl = DDL
    columns = ("credit_note_id", "ordinal", "number", "reseller_id", "invoice_id", "position", "doc")
    inserts = frozenset({"credit_note"})
    updates = frozenset()
    index_columns = ("reseller_id", "invoice_id")

    def row(self, doc: dict, position: int) -> tuple:
        return (doc["credit_note_id"], doc["ordinal"], doc["number"], doc["reseller_id"], doc["invoice_id"],
                position, doc)

    def page(self, sql, generation: int, reseller_id: str, invoice_id: str, before: int,
             limit: int) -> list[tuple[dict, int]]:
        """Newest first (by ordinal) below `before`, optionally of one reseller and/or invoice."""
        where, params = ["ordinal < ?"], [before]
        for column, value in (("reseller_id", reseller_id), ("invoice_id", invoice_id)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        rows = sql.execute(f"SELECT doc, position FROM {self.table(generation)} WHERE {' AND '.join(where)} "
                           "ORDER BY ordinal DESC LIMIT ?", (*params, limit)).fetchall()
        return [(self.parse(d), int(p)) for d, p in rows]
