"""billing_invoices: invoice number → id and each invoice's status and period (the active periods
that ingest and overlap checks need), kept in step with Invoice events in the events' transaction."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Iterable, NamedTuple

from domain.errors import Conflict
from domain.invoice import InvoiceStatus, UsageRow
from service.persistence.backend import Backend, Sql
from service.persistence.ledger_queries import period_usage


class IndexRow(NamedTuple):
    invoice_id: str
    reseller_id: str
    number: str
    sequence: int
    status: str
    start_day: int
    end_day: int


class ActivePeriod(NamedTuple):
    start_day: int  # date ordinals, inclusive
    end_day: int
    invoice_id: str


class UsageChanged(Conflict):
    """Calls arrived for the period between calculation and save; the create is retried."""


def active_periods(sql: Sql, resellers: Iterable[str]) -> dict[str, list[ActivePeriod]]:
    """The periods of each reseller's active (ISSUED) invoices."""
    ids = list(resellers)
    if not ids:
        return {}
    sql.execute("SELECT reseller_id, start_day, end_day, invoice_id FROM billing_invoices "
                f"WHERE status = ? AND reseller_id IN ({','.join('?' * len(ids))})", [InvoiceStatus.ISSUED, *ids])
    out: dict[str, list[ActivePeriod]] = defaultdict(list)
    for rid, lo, hi, inv in sql.fetchall():
        out[rid].append(ActivePeriod(int(lo), int(hi), inv))
    return out


class InvoiceIndex:
    def __init__(self, backend: Backend):
        self.backend = backend

    def id_by_number(self, number: str) -> str | None:
        with self.backend.transaction(write=False) as sql:
            rows = sql.execute("SELECT invoice_id FROM billing_invoices WHERE number = ?", (number,)).fetchall()
        return rows[0][0] if rows else None

    def active_periods(self, reseller_id: str) -> list[ActivePeriod]:
        with self.backend.transaction(write=False) as sql:
            return active_periods(sql, [reseller_id]).get(reseller_id, [])

    def rows(self) -> dict[str, IndexRow]:
        """Every row by invoice id (audit verify compares them with the replay)."""
        with self.backend.transaction(write=False) as sql:
            rows = sql.execute(f"SELECT {', '.join(IndexRow._fields)} FROM billing_invoices").fetchall()
        return {r[0]: IndexRow(r[0], r[1], r[2], int(r[3]), r[4], int(r[5]), int(r[6])) for r in rows}


@dataclass(frozen=True)
class InvoiceIssuedWrite:
    """Side write of CreateInvoice: re-check the period's usage, then index the invoice."""

    invoice_id: str
    reseller_id: str
    number: str
    sequence: int
    start: date
    end: date
    usage: tuple[UsageRow, ...]  # what the invoice was calculated from

    def run(self, sql: Sql) -> None:
        # The caller holds the reseller guard, so ingest is already kept out; the re-check
        # below is the proof, and a mismatch aborts the save.
        now = period_usage(sql, self.reseller_id, self.start, self.end)
        if sorted(now) != sorted(self.usage):
            raise UsageChanged("calls arrived for the period while the invoice was being created")
        sql.execute("INSERT INTO billing_invoices (invoice_id, reseller_id, number, sequence, status, "
                    "start_day, end_day) VALUES (?,?,?,?,?,?,?)",
                    (self.invoice_id, self.reseller_id, self.number, self.sequence, InvoiceStatus.ISSUED,
                     self.start.toordinal(), self.end.toordinal()))


@dataclass(frozen=True)
class InvoiceStatusWrite:
    """Side write of a status change (void): the period stops (or starts) being active."""

    invoice_id: str
    reseller_id: str
    status: str

    def run(self, sql: Sql) -> None:
        sql.lock_resellers([self.reseller_id])
        sql.execute("UPDATE billing_invoices SET status = ? WHERE invoice_id = ?", (self.status, self.invoice_id))
