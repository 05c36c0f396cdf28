"""Read model: the invoice list (ListInvoices, statements, payments) — one row per invoice with its
current document; filters by reseller, status, payment status and overdue day."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from projections.model import DocumentTable

DDL = """CREATE TABLE IF NOT EXISTS {t} (
    invoice_id TEXT PRIMARY KEY,
    ordinal BIGINT NOT NULL,
    number TEXT NOT NULL,
    reseller_id TEXT NOT NULL,
    reseller_name TEXT NOT NULL,
    status TEXT NOT NULL,
    issue_date TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    currency TEXT NOT NULL,
    total TEXT NOT NULL,
    payment_status TEXT NOT NULL,
    due_date TEXT NOT NULL,
    owes INTEGER NOT NULL,
    position BIGINT NOT NULL,
    doc TEXT NOT NULL)"""


@dataclass(frozen=True)
class Receivable:
    """SPEC §14 filters of ListInvoices / SearchInvoices."""

    payment_status: str = ""  # "" = any
    overdue_on: date | None = None  # only due_date < overdue_on with outstanding > 0


def owes(doc: dict) -> int:
    """1 when the invoice's outstanding is above 0 (the overdue filter's second half)."""
    return int(Decimal(doc["outstanding"]) > 0)


def receivable_conditions(f: Receivable, where: list[str], params: list) -> None:
    if f.payment_status:
        where.append("payment_status = ?")
        params.append(f.payment_status)
    if f.overdue_on:
        where.append("due_date <> '' AND due_date < ? AND owes = 1")
        params.append(f.overdue_on.isoformat())


class InvoiceList(DocumentTable):
    name = "invoice_list"
    shape = "2"  # 2: ordinal order, payment status, due date, credits and payments (Part II)
    ddl = DDL
    columns = ("invoice_id", "ordinal", "number", "reseller_id", "reseller_name", "status", "issue_date",
               "period_start", "period_end", "currency", "total", "payment_status", "due_date", "owes", "position",
               "doc")

    def row(self, doc: dict, position: int) -> tuple:
        return (doc["invoice_id"], doc["ordinal"], doc["number"], doc["reseller_id"], doc["bill_to"]["name"],
                doc["status"], doc["issue_date"], doc["period"]["start"], doc["period"]["end"], doc["currency"],
                doc["total"], doc["payment_status"], doc["due_date"], owes(doc), position, doc)

    def page(self, sql, generation: int, reseller_id: str, before: int, limit: int,
             receivable: Receivable = Receivable()) -> list[tuple[dict, int]]:
        """Newest first (by ordinal) below `before`: [(doc, position)]."""
        where, params = ["ordinal < ?"], [before]
        if reseller_id:
            where.append("reseller_id = ?")
            params.append(reseller_id)
        receivable_conditions(receivable, where, params)
        rows = sql.execute(f"SELECT doc, position FROM {self.table(generation)} WHERE {' AND '.join(where)} "
                           "ORDER BY ordinal DESC LIMIT ?", (*params, limit)).fetchall()
        return [(self.parse(d), int(p)) for d, p in rows]

    def of_reseller(self, sql, generation: int, reseller_id: str) -> list[dict]:
        rows = sql.execute(f"SELECT doc FROM {self.table(generation)} WHERE reseller_id = ? ORDER BY ordinal",
                           (reseller_id,)).fetchall()
        return [self.parse(d) for (d,) in rows]
