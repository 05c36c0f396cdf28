"""Read model: the invoice list (ListInvoices) — one row per invoice with its current document."""
from projections.model import DocumentTable

DDL = """CREATE TABLE IF NOT EXISTS {t} (
    invoice_id TEXT PRIMARY KEY,
    sequence BIGINT NOT NULL,
    number TEXT NOT NULL,
    reseller_id TEXT NOT NULL,
    reseller_name TEXT NOT NULL,
    status TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    currency TEXT NOT NULL,
    total TEXT NOT NULL,
    position BIGINT NOT NULL,
    doc TEXT NOT NULL)"""


class InvoiceList(DocumentTable):
    name = "invoice_list"
    ddl = DDL
    columns = ("invoice_id", "sequence", "number", "reseller_id", "reseller_name", "status", "issue_date",
               "period_start", "period_end", "currency", "total", "position", "doc")


    def row(self, doc: dict, position: int) -> tuple:
        return (doc["invoice_id"], doc["sequence"], doc["number"], doc["reseller_id"], doc["bill_to"]["name"],
                doc["status"], doc["issue_date"], doc["period"]["start"], doc["period"]["end"], doc["currency"],
                doc["total"], position, doc)

    def page(self, sql, generation: int, reseller_id: str, before: int, limit: int) -> list[tuple[dict, int]]:
        """Newest first by number sequence, below `before`: [(doc, position)]."""
        where, params = "sequence < ?", [before]
        if reseller_id:
            where, params = where + " AND reseller_id = ?", params + [reseller_id]
        rows = sql.execute(f"SELECT doc, position FROM {self.table(generation)} WHERE {where} "
                           "ORDER BY sequence DESC LIMIT ?", (*params, limit)).fetchall()
        return [(DocumentTable.parse(d), int(p)) for d, p in rows]
