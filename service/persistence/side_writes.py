"""Rows written in the same transaction as an aggregate's events (passed to `app.save` as kwargs).

Each write runs inside the recorder's transaction, so the events and these rows
commit together or not at all; a write may raise to abort the whole save.
"""
from dataclasses import dataclass
from datetime import date

from domain.errors import Conflict, FailedPrecondition
from domain.invoice import UsageRow
from service.persistence.backend import Sql
from service.persistence.ledger import Ledger


class UsageChanged(Conflict):
    """Calls arrived for the period between calculation and save; the create is retried."""


@dataclass(frozen=True)
class ResellerTermsWrite:
    reseller_id: str
    currency: str
    time_zone: str
    terms_changed: bool

    def run(self, sql: Sql) -> None:
        sql.lock_resellers([self.reseller_id])
        if self.terms_changed:
            sql.execute("SELECT 1 FROM billing_calls WHERE reseller_id = ? LIMIT 1", (self.reseller_id,))
            if sql.fetchall():
                raise FailedPrecondition("currency and time_zone cannot change once the reseller has calls")
        sql.execute("INSERT INTO billing_resellers (reseller_id, currency, time_zone) VALUES (?,?,?) "
                    "ON CONFLICT (reseller_id) DO UPDATE SET currency = excluded.currency, "
                    "time_zone = excluded.time_zone", (self.reseller_id, self.currency, self.time_zone))


@dataclass(frozen=True)
class InvoiceIssuedWrite:
    invoice_id: str
    reseller_id: str
    number: str
    sequence: int
    start: date
    end: date
    usage: tuple[UsageRow, ...]  # what the invoice was calculated from

    def run(self, sql: Sql) -> None:
        # The caller holds Backend.reseller_guard, so ingest is already kept out; the
        # re-check below is the proof, and a mismatch aborts the save.
        now = Ledger.period_usage(sql, self.reseller_id, self.start, self.end)
        if sorted(now, key=_key) != sorted(self.usage, key=_key):
            raise UsageChanged("calls arrived for the period while the invoice was being created")
        sql.execute("INSERT INTO billing_invoices (invoice_id, reseller_id, number, sequence, status, "
                    "start_day, end_day) VALUES (?,?,?,?,?,?,?)",
                    (self.invoice_id, self.reseller_id, self.number, self.sequence, "ISSUED",
                     self.start.toordinal(), self.end.toordinal()))


@dataclass(frozen=True)
class InvoiceVoidedWrite:
    invoice_id: str
    reseller_id: str

    def run(self, sql: Sql) -> None:
        sql.lock_resellers([self.reseller_id])
        sql.execute("UPDATE billing_invoices SET status = 'VOID' WHERE invoice_id = ?", (self.invoice_id,))


def _key(row: UsageRow) -> str:
    return row.destination_group
