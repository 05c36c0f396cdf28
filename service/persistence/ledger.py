"""The call ledger: all-or-nothing batch ingest with rollups, and the usage queries invoices read."""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from domain.calls import LocalDays, check_call
from domain.invoice import UsageRow
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


# A call as received, before validation: plain values pulled off the wire, as a tuple
# (cheaper than an object per call on the hot path):
# (index, call_id, reseller_id, has_started, started_s, started_nanos, billed_seconds,
#  destination, destination_group, amount, currency)
RawCall = tuple


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
    def record(self, calls: list[RawCall]) -> BatchResult:
        """Store one batch in one transaction: every valid call or none of them."""
        result = BatchResult()
        valid = []
        for c in calls:
            checked = check_call(c[1], c[8], c[7], c[9], c[3], c[4])
            if checked.__class__ is str:
                result.rejected.append((c[0], c[1], checked))
            else:
                valid.append((c, checked))
        if not valid:
            return result
        resellers = {c[2] for c, _ in valid}
        with self.backend.local_locks(resellers), self.backend.transaction() as sql:
            rows = self._rows_for(sql, resellers, valid, result)
            inserted = self._insert(sql, rows)
            self._settle(sql, rows, inserted, result)
        result.rejected.sort()
        return result

    def _rows_for(self, sql: Sql, resellers: set[str], valid: list, result: BatchResult) -> list[tuple]:
        sql.lock_resellers(resellers)
        terms = self._next_batch(sql, resellers)
        covered = self.active_periods(sql, resellers)
        rows = []
        for (index, call_id, rid, _, started_s, started_nanos, seconds, destination, group, _, currency), \
                (units, nanos) in valid:
            t = terms.get(rid)
            if t is None:
                result.rejected.append((index, call_id, f"unknown reseller {rid[:128]!r}"))
                continue
            if currency != t[0]:
                result.rejected.append((index, call_id, f"currency {currency[:8]!r} is not the reseller's {t[0]}"))
                continue
            day = self._local_days(t[1]).day_of(started_s)
            late_for = ""
            for lo, hi, invoice_id in covered.get(rid, ()):
                if lo <= day <= hi:
                    late_for = invoice_id
            rows.append((rid, call_id, started_s * 1_000_000_000 + started_nanos, day, seconds, destination,
                         group, units, nanos, late_for, t[2], index))
        return rows

    @staticmethod
    def _insert(sql: Sql, rows: list[tuple]) -> set[tuple[str, str]] | None:
        """Insert new calls; returns the keys inserted, or None when every row was."""
        count = sql.executemany(f"INSERT INTO billing_calls ({COLUMNS}) VALUES ({','.join('?' * WIDTH)}) "
                                "ON CONFLICT (reseller_id, call_id) DO NOTHING", [r[:WIDTH] for r in rows])
        if count == len(rows):
            return None
        inserted = set()  # some were already stored: this batch's rows carry its batch_seq
        for rid, seq in {(r[0], r[10]) for r in rows}:
            sql.execute("SELECT reseller_id, call_id FROM billing_calls WHERE reseller_id = ? AND batch_seq = ?",
                        (rid, seq))
            inserted.update(sql.fetchall())
        return inserted

    def _settle(self, sql: Sql, rows: list[tuple], inserted: set | None, result: BatchResult) -> None:
        """Count inserted rows, roll them up, and sort the rest into duplicates and conflicts."""
        rollup: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        others = []
        for r in rows:
            if inserted is not None:
                key = (r[0], r[1])
                if key not in inserted:
                    others.append(r)
                    continue
                inserted.discard(key)  # a second copy in the same batch is not "inserted" again
            s = rollup[(r[0], r[3], r[6], r[9])]
            s[0] += 1
            s[1] += r[4]
            s[2] += r[7]
            s[3] += r[8]
            if r[9]:
                result.late += 1
        result.accepted += len(rows) - len(others)
        sql.executemany(ROLLUP_UPSERT, [(*k, *v) for k, v in rollup.items()])
        if others:
            stored = self._stored(sql, [(r[0], r[1]) for r in others])
            for r in others:
                if stored.get((r[0], r[1])) == r[CONTENT]:
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
                    found[(row[0], row[1])] = tuple(row[CONTENT])
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
