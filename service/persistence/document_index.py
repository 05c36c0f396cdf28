"""billing_documents: every invoice's and credit note's number, series, status and period, kept in
step with their events in the events' transaction. It answers "which id has this number", "is this
number taken" (numbers are unique across all documents, SPEC §12) and "which periods are active"
(ingest's late calls and the overlap rule). billing_series lists the numbering series."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Iterable, NamedTuple, Sequence

from domain.errors import Conflict
from domain.invoice import InvoiceStatus, UsageRow
from domain.numbering import DocumentKind
from service.persistence.backend import Backend, Sql
from service.persistence.ledger_queries import batch_seqs, period_usage


class IndexRow(NamedTuple):
    document_id: str
    kind: str
    reseller_id: str
    number: str
    series_id: str
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
    sql.execute("SELECT reseller_id, start_day, end_day, document_id FROM billing_documents "
                f"WHERE kind = ? AND status = ? AND reseller_id IN ({','.join('?' * len(ids))})",
                [DocumentKind.INVOICE, InvoiceStatus.ISSUED, *ids])
    out: dict[str, list[ActivePeriod]] = defaultdict(list)
    for rid, lo, hi, inv in sql.fetchall():
        out[rid].append(ActivePeriod(int(lo), int(hi), inv))
    return out


class DocumentIndex:
    def __init__(self, backend: Backend):
        self.backend = backend

    def find(self, number: str) -> tuple[str, str] | None:
        """(document id, kind) of the document with this number, or None."""
        row = self.numbered(number)
        return (row.document_id, row.kind) if row else None

    def numbered(self, number: str) -> IndexRow | None:
        """The row of the document with this number, or None."""
        with self.backend.transaction(write=False) as sql:
            rows = sql.execute(f"SELECT {', '.join(IndexRow._fields)} FROM billing_documents WHERE number = ?",
                               (number,)).fetchall()
        return IndexRow(*rows[0]) if rows else None

    def active_periods(self, reseller_id: str) -> list[ActivePeriod]:
        with self.backend.transaction(write=False) as sql:
            return active_periods(sql, [reseller_id]).get(reseller_id, [])

    def rows(self) -> dict[str, IndexRow]:
        """Every row by document id (audit verify compares them with the replay)."""
        with self.backend.transaction(write=False) as sql:
            rows = sql.execute(f"SELECT {', '.join(IndexRow._fields)} FROM billing_documents").fetchall()
        return {r[0]: IndexRow(r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6], int(r[7]), int(r[8])) for r in rows}

    def series_after(self, after: str, limit: int) -> list[tuple[str, str]]:
        """(series_id, kind) of the series created by UpsertSeries, by id above `after`."""
        with self.backend.transaction(write=False) as sql:
            return [(r[0], r[1]) for r in sql.execute(
                "SELECT series_id, kind FROM billing_series WHERE series_id > ? ORDER BY series_id LIMIT ?",
                (after, limit)).fetchall()]


@dataclass(frozen=True)
class DocumentIssuedWrite:
    """Side write of a new invoice or credit note. For an invoice the period's usage is checked
    again first (the save aborts and retries if calls arrived meanwhile)."""

    document_id: str
    kind: str
    reseller_id: str
    number: str
    series_id: str
    sequence: int
    start: date
    end: date
    usage: tuple[UsageRow, ...] | None = None  # invoices: what the invoice was calculated from
    covers_through: int | None = None  # invoices: the reseller's batch watermark read with `usage`

    def run(self, sql: Sql) -> None:
        self.run_all(sql, [self])

    @staticmethod
    def run_all(sql: Sql, writes: Sequence["DocumentIssuedWrite"]) -> None:
        """The side writes of the documents of one save (a group of creates saves several): every
        invoice's usage re-check reads its reseller's watermark from ONE query, then one multi-row
        insert. Statement by statement, a group of eight invoices made 16 round trips here, each a
        wait for the database on a busy machine while every other create queued for the counter
        (PostgreSQL under mixed load; issue #11).

        Ingest of the resellers is kept out: by the reseller guard the caller holds (PostgreSQL, and
        every retry), or by SQLite's single writer (this transaction holds it). The re-check proves
        each invoice has every call of its period stored so far; a mismatch aborts the save (and the
        retry holds the guard). Rollups change only in a call batch's transaction, which advances the
        batch watermark of each of its resellers: an unchanged watermark proves an unchanged usage
        with one row read; otherwise the sums are compared."""
        invoices = [w for w in writes if w.usage is not None]
        watermarks = batch_seqs(sql, (w.reseller_id for w in invoices))  # no query when there are none
        for w in invoices:
            unchanged = w.covers_through is not None and watermarks.get(w.reseller_id, 0) == w.covers_through
            if not unchanged and sorted(period_usage(sql, w.reseller_id, w.start, w.end)) != sorted(w.usage):
                raise UsageChanged("calls arrived for the period while the invoice was being created")
        sql.executemany("INSERT INTO billing_documents (document_id, kind, reseller_id, number, series_id, sequence, "
                        "status, start_day, end_day) VALUES (?,?,?,?,?,?,?,?,?)",
                        [(w.document_id, w.kind, w.reseller_id, w.number, w.series_id, w.sequence,
                          InvoiceStatus.ISSUED, w.start.toordinal(), w.end.toordinal()) for w in writes])


@dataclass(frozen=True)
class DocumentStatusWrite:
    """Side write of a status change (void, fully credited): the period stops being active."""

    document_id: str
    reseller_id: str
    status: str

    def run(self, sql: Sql) -> None:
        sql.lock_resellers([self.reseller_id])
        sql.execute("UPDATE billing_documents SET status = ? WHERE document_id = ?", (self.status, self.document_id))


@dataclass(frozen=True)
class SeriesCreatedWrite:
    series_id: str
    kind: str

    def run(self, sql: Sql) -> None:
        sql.execute("INSERT INTO billing_series (series_id, kind) VALUES (?, ?) ON CONFLICT (series_id) DO NOTHING",
                    (self.series_id, self.kind))
