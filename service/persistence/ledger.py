"""The call ledger: all-or-nothing batch ingest with rollups, and the usage queries invoices read."""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Sequence

from domain.calls import LocalDays, check_call
from domain.invoice import UsageRow
from domain.reseller import MAX_ID
from service.persistence.backend import Backend, Sql

COLUMNS = ("reseller_id, call_id, started_ns, local_day, billed_seconds, destination, "
           "destination_group, amount_units, amount_nanos, late_for, batch_seq")
WIDTH = 11
CONTENT = slice(0, 9)  # everything but late_for, which depends on when the call arrived
ROLLUP_UPSERT = (
    "INSERT INTO billing_call_rollups (reseller_id, local_day, destination_group, late_for, "
    "calls, billed_seconds, amount_units, amount_nanos) VALUES (?,?,?,?,?,?,?,?) "
    "ON CONFLICT (reseller_id, local_day, destination_group, late_for) DO UPDATE SET "
    "calls = billing_call_rollups.calls + excluded.calls, "
    "billed_seconds = billing_call_rollups.billed_seconds + excluded.billed_seconds, "
    "amount_units = billing_call_rollups.amount_units + excluded.amount_units, "
    "amount_nanos = billing_call_rollups.amount_nanos + excluded.amount_nanos")


@dataclass
class BatchResult:
    accepted: int = 0
    duplicates: int = 0
    late: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (index, call_id, reason)

    def add(self, other: "BatchResult") -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.late += other.late
        self.rejected.extend(other.rejected)


class Ledger:
    def __init__(self, backend: Backend):
        self.backend = backend
        self._days: dict[str, LocalDays] = {}

    # ---- ingest -------------------------------------------------------------------------
    def record(self, calls: Sequence, base: int = 0) -> BatchResult:
        """Store one batch in one transaction: every valid call or none of them.

        `calls` are billing.v1.Call messages (or objects of that shape); `base` is the
        stream index of the first one. One pass validates and builds the rows: this is
        the hot path of ingest.
        """
        result = BatchResult()
        if not calls:
            return result
        # Only ids that could name a reseller reach SQL (PostgreSQL text cannot even hold a NUL);
        # the calls of any other id are rejected below as an unknown reseller.
        resellers = {c.reseller_id for c in calls if _could_be_reseller(c.reseller_id)}
        with self.backend.local_locks(resellers), self.backend.transaction() as sql:
            sql.lock_resellers(resellers)
            terms = self._next_batch(sql, resellers) if resellers else {}
            rows = self._rows(calls, base, terms, self.active_periods(sql, resellers), result)
            if rows:
                self._settle(sql, rows, self._insert(sql, rows), result)
        result.rejected.sort()
        return result

    def _rows(self, calls: Sequence, base: int, terms: dict, covered: dict, result: BatchResult) -> list[tuple]:
        rows, reject = [], result.rejected.append
        days = {rid: self._local_days(t[1]) for rid, t in terms.items()}
        for index, c in enumerate(calls, base):
            call_id, rid, started = c.call_id, c.reseller_id, c.started_at
            checked = check_call(call_id, c.destination_group, c.destination, c.amount,
                                 c.HasField("started_at"), started.seconds)
            if checked.__class__ is str:
                reject((index, call_id, checked))
                continue
            t = terms.get(rid)
            if t is None:
                reject((index, call_id, f"unknown reseller {rid[:128]!r}"))
                continue
            if c.currency != t[0]:
                reject((index, call_id, f"currency {c.currency[:8]!r} is not the reseller's {t[0]}"))
                continue
            day = days[rid].day_of(started.seconds)
            late_for = ""
            for lo, hi, invoice_id in covered.get(rid, ()):
                if lo <= day <= hi:
                    late_for = invoice_id
            rows.append((rid, call_id, started.seconds * 1_000_000_000 + started.nanos, day, c.billed_seconds,
                         c.destination, c.destination_group, checked[0], checked[1], late_for, t[2], index))
        return rows

    @staticmethod
    def _insert(sql: Sql, rows: list[tuple]) -> bool:
        """Insert new calls; True when every row was new (the common case)."""
        count = sql.executemany(f"INSERT INTO billing_calls ({COLUMNS}) VALUES ({','.join('?' * WIDTH)}) "
                                "ON CONFLICT (reseller_id, call_id) DO NOTHING", [r[:WIDTH] for r in rows])
        return count == len(rows)

    def _settle(self, sql: Sql, rows: list[tuple], all_new: bool, result: BatchResult) -> None:
        """Count inserted rows, roll them up, and sort the rest into duplicates and conflicts."""
        if all_new:
            new, others = rows, []
        else:  # some keys were stored before: a row is ours if it carries this batch's batch_seq
            stored = self._stored(sql, [(r[0], r[1]) for r in rows])
            new, others, taken = [], [], set()
            for r in rows:
                key = (r[0], r[1])
                if stored[key][10] == r[10] and key not in taken:
                    taken.add(key)
                    new.append(r)
                else:
                    others.append(r)
        rollup: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for r in new:
            s = rollup[(r[0], r[3], r[6], r[9])]
            s[0] += 1
            s[1] += r[4]
            s[2] += r[7]
            s[3] += r[8]
            if r[9]:
                result.late += 1
        result.accepted += len(new)
        sql.executemany(ROLLUP_UPSERT, [(*k, *v) for k, v in rollup.items()])
        for r in others:
            if stored[(r[0], r[1])][CONTENT] == r[CONTENT]:
                result.duplicates += 1
            else:
                result.rejected.append((r[WIDTH], r[1], "call_id already stored with different content"))

    def _stored(self, sql: Sql, keys: list[tuple[str, str]]) -> dict:
        found = {}
        for rid in {k[0] for k in keys}:
            ids = [k[1] for k in keys if k[0] == rid]
            for at in range(0, len(ids), 500):
                part = ids[at:at + 500]
                sql.execute(f"SELECT {COLUMNS} FROM billing_calls WHERE reseller_id = ? AND call_id IN "
                            f"({','.join('?' * len(part))})", [rid, *part])
                for row in sql.fetchall():
                    found[(row[0], row[1])] = tuple(row)
        return found

    @staticmethod
    def _next_batch(sql: Sql, resellers: set[str]) -> dict[str, tuple[str, str, int]]:
        """Advance each known reseller's batch_seq; returns {id: (currency, zone, batch_seq)}."""
        ids = list(resellers)
        sql.execute("UPDATE billing_resellers SET batch_seq = batch_seq + 1 WHERE reseller_id IN "
                    f"({','.join('?' * len(ids))}) RETURNING reseller_id, currency, time_zone, batch_seq", ids)
        return {r[0]: (r[1], r[2], int(r[3])) for r in sql.fetchall()}

    @staticmethod
    def batch_seq(sql: Sql, reseller_id: str) -> int:
        sql.execute("SELECT batch_seq FROM billing_resellers WHERE reseller_id = ?", (reseller_id,))
        rows = sql.fetchall()
        return int(rows[0][0]) if rows else 0

    def _local_days(self, zone: str) -> LocalDays:
        days = self._days.get(zone)
        if days is None:
            days = self._days[zone] = LocalDays(zone)
        return days

    # ---- queries ------------------------------------------------------------------------
    @staticmethod
    def active_periods(sql: Sql, resellers) -> dict[str, list[tuple[int, int, str]]]:
        ids = list(resellers)
        if not ids:
            return {}
        sql.execute("SELECT reseller_id, start_day, end_day, invoice_id FROM billing_invoices "
                    f"WHERE status = 'ISSUED' AND reseller_id IN ({','.join('?' * len(ids))})", ids)
        out: dict[str, list] = defaultdict(list)
        for rid, lo, hi, inv in sql.fetchall():
            out[rid].append((lo, hi, inv))
        return out

    @staticmethod
    def period_usage(sql: Sql, reseller_id: str, start: date, end: date) -> list[UsageRow]:
        """Summed stored calls of the period per destination group (an invoice's raw lines)."""
        sql.execute("SELECT destination_group, SUM(calls), SUM(billed_seconds), SUM(amount_units), "
                    "SUM(amount_nanos) FROM billing_call_rollups WHERE reseller_id = ? AND local_day "
                    "BETWEEN ? AND ? GROUP BY destination_group",
                    (reseller_id, start.toordinal(), end.toordinal()))
        return [UsageRow(g, int(c), int(s), int(u), int(n)) for g, c, s, u, n in sql.fetchall()]

    @staticmethod
    def usage_by_state(sql: Sql, reseller_id: str, start: date, end: date) -> list[tuple]:
        """Rollup rows (day, group, late_for, calls, seconds, units, nanos) of the period."""
        sql.execute("SELECT local_day, destination_group, late_for, calls, billed_seconds, amount_units, "
                    "amount_nanos FROM billing_call_rollups WHERE reseller_id = ? AND local_day "
                    "BETWEEN ? AND ?", (reseller_id, start.toordinal(), end.toordinal()))
        return [(d, g, lf, int(c), int(s), int(u), int(n)) for d, g, lf, c, s, u, n in sql.fetchall()]

    @staticmethod
    def ledger_usage(sql: Sql, reseller_id: str, start: date, end: date, covers_through: int) -> list[UsageRow]:
        """The calls an invoice covered, summed from the raw call rows (audit): those of its
        period stored no later than its batch watermark."""
        sql.execute("SELECT destination_group, COUNT(*), SUM(billed_seconds), SUM(amount_units), "
                    "SUM(amount_nanos) FROM billing_calls WHERE reseller_id = ? AND local_day "
                    "BETWEEN ? AND ? AND batch_seq <= ? GROUP BY destination_group",
                    (reseller_id, start.toordinal(), end.toordinal(), covers_through))
        return [UsageRow(g, int(c), int(s), int(u), int(n)) for g, c, s, u, n in sql.fetchall()]


def _could_be_reseller(reseller_id: str) -> bool:
    return 0 < len(reseller_id) <= MAX_ID and reseller_id.isprintable()
