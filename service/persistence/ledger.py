"""The call ledger: all-or-nothing batch ingest with rollups, and the usage reads use cases need."""
from collections import defaultdict
from datetime import date
from typing import Iterable, NamedTuple, Sequence

from domain.calls import BatchResult, CallInput, LocalDays, check_call
from domain.invoice import UsageRow
from domain.text import MAX_ID
from service.persistence import ledger_queries as q
from service.persistence.backend import Backend, Sql
from service.persistence.document_index import ActivePeriod, active_periods


class CallRow(NamedTuple):
    """One billing_calls row, in column order."""

    reseller_id: str
    call_id: str
    started_ns: int
    local_day: int
    billed_seconds: int
    destination: str
    destination_group: str
    amount_units: int
    amount_nanos: int
    late_for: str  # "" or the active invoice that already covered the call's day
    batch_seq: int

    def content(self) -> tuple:
        """Everything but late_for and batch_seq, which depend on when the call arrived."""
        return self[:9]


class Terms(NamedTuple):
    currency: str
    time_zone: str
    batch_seq: int


COLUMNS = ", ".join(CallRow._fields)
INSERT = (f"INSERT INTO billing_calls ({COLUMNS}) VALUES ({','.join('?' * len(CallRow._fields))}) "
          "ON CONFLICT (reseller_id, call_id) DO NOTHING")
ROLLUP_UPSERT = (
    "INSERT INTO billing_call_rollups (reseller_id, local_day, destination_group, late_for, "
    "calls, billed_seconds, amount_units, amount_nanos) VALUES (?,?,?,?,?,?,?,?) "
    "ON CONFLICT (reseller_id, local_day, destination_group, late_for) DO UPDATE SET "
    "calls = billing_call_rollups.calls + excluded.calls, "
    "billed_seconds = billing_call_rollups.billed_seconds + excluded.billed_seconds, "
    "amount_units = billing_call_rollups.amount_units + excluded.amount_units, "
    "amount_nanos = billing_call_rollups.amount_nanos + excluded.amount_nanos")


class Ledger:
    def __init__(self, backend: Backend):
        self.backend = backend
        self._days: dict[str, LocalDays] = {}

    # ---- ingest -------------------------------------------------------------------------
    def record(self, calls: Sequence[CallInput], base: int = 0) -> BatchResult:
        """Store one batch in one transaction: every valid call or none of them.

        `base` is the stream index of the first call. One pass validates and builds the
        rows: this is the hot path of ingest.
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
            rows, indexes = self._rows(calls, base, terms, active_periods(sql, resellers), result)
            if rows:
                all_new = sql.executemany(INSERT, rows) == len(rows)
                self._settle(sql, rows, indexes, all_new, result)
        result.rejected.sort()
        return result

    def _rows(self, calls: Sequence[CallInput], base: int, terms: dict[str, Terms],
              covered: dict[str, list[ActivePeriod]], result: BatchResult) -> tuple[list[CallRow], list[int]]:
        rows, indexes, reject = [], [], result.rejected.append
        days = {rid: self._local_days(t.time_zone) for rid, t in terms.items()}
        for index, c in enumerate(calls, base):
            checked = check_call(c.call_id, c.destination_group, c.destination, c.amount, c.has_started,
                                 c.started_s)
            if checked.__class__ is str:
                reject((index, c.call_id, checked))
                continue
            t = terms.get(c.reseller_id)
            if t is None:
                reject((index, c.call_id, f"unknown reseller {c.reseller_id[:MAX_ID]!r}"))
                continue
            if c.currency != t.currency:
                reject((index, c.call_id, f"currency {c.currency[:8]!r} is not the reseller's {t.currency}"))
                continue
            day = days[c.reseller_id].day_of(c.started_s)
            late_for = ""
            for period in covered.get(c.reseller_id, ()):
                if period.start_day <= day <= period.end_day:
                    late_for = period.invoice_id
            rows.append(CallRow(c.reseller_id, c.call_id, c.started_s * 1_000_000_000 + c.started_nanos, day,
                                c.billed_seconds, c.destination, c.destination_group, checked[0], checked[1],
                                late_for, t.batch_seq))
            indexes.append(index)
        return rows, indexes

    def _settle(self, sql: Sql, rows: list[CallRow], indexes: list[int], all_new: bool,
                result: BatchResult) -> None:
        """Count inserted rows, roll them up, and sort the rest into duplicates and conflicts."""
        if all_new:
            new, others, stored = rows, [], {}
        else:  # some keys were stored before: a row is ours if it carries this batch's batch_seq
            stored = self._stored(sql, [(r.reseller_id, r.call_id) for r in rows])
            new, others, taken = [], [], set()
            for r, index in zip(rows, indexes):
                key = (r.reseller_id, r.call_id)
                if stored[key].batch_seq == r.batch_seq and key not in taken:
                    taken.add(key)
                    new.append(r)
                else:
                    others.append((r, index))
        rollup: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for r in new:
            s = rollup[(r.reseller_id, r.local_day, r.destination_group, r.late_for)]
            s[0] += 1
            s[1] += r.billed_seconds
            s[2] += r.amount_units
            s[3] += r.amount_nanos
            if r.late_for:
                result.late += 1
        result.accepted += len(new)
        sql.executemany(ROLLUP_UPSERT, [(*k, *v) for k, v in rollup.items()])
        for r, index in others:
            if stored[(r.reseller_id, r.call_id)].content() == r.content():
                result.duplicates += 1
            else:
                result.rejected.append((index, r.call_id, "call_id already stored with different content"))

    @staticmethod
    def _stored(sql: Sql, keys: list[tuple[str, str]]) -> dict[tuple[str, str], CallRow]:
        found = {}
        for rid in {k[0] for k in keys}:
            ids = [k[1] for k in keys if k[0] == rid]
            for at in range(0, len(ids), 500):
                part = ids[at:at + 500]
                sql.execute(f"SELECT {COLUMNS} FROM billing_calls WHERE reseller_id = ? AND call_id IN "
                            f"({','.join('?' * len(part))})", [rid, *part])
                for row in sql.fetchall():
                    found[(row[0], row[1])] = CallRow(*row)
        return found

    @staticmethod
    def _next_batch(sql: Sql, resellers: set[str]) -> dict[str, Terms]:
        """Advance each known reseller's batch_seq; returns {id: Terms}."""
        ids = list(resellers)
        sql.execute("UPDATE billing_resellers SET batch_seq = batch_seq + 1 WHERE reseller_id IN "
                    f"({','.join('?' * len(ids))}) RETURNING reseller_id, currency, time_zone, batch_seq", ids)
        return {r[0]: Terms(r[1], r[2], int(r[3])) for r in sql.fetchall()}

    def _local_days(self, zone: str) -> LocalDays:
        days = self._days.get(zone)
        if days is None:
            days = self._days[zone] = LocalDays(zone)
        return days

    # ---- reads --------------------------------------------------------------------------
    def period_usage(self, reseller_id: str, start: date, end: date) -> list[UsageRow]:
        with self.backend.transaction(write=False) as sql:
            return q.period_usage(sql, reseller_id, start, end)

    def usage_and_watermark(self, reseller_id: str, start: date, end: date) -> tuple[list[UsageRow], int]:
        """The period's usage, then the batch watermark, in one read (usage first: a batch landing
        in between raises the watermark and changes the usage, which the save's re-check catches)."""
        with self.backend.transaction(write=False) as sql:
            return q.period_usage(sql, reseller_id, start, end), q.batch_seq(sql, reseller_id)

    def rollups_and_active(self, reseller_id: str, start: date,
                           end: date) -> tuple[list[q.RollupRow], list[ActivePeriod]]:
        """The period's rollup rows and the reseller's active invoice periods, read together."""
        with self.backend.transaction(write=False) as sql:
            return (q.rollups(sql, reseller_id, start, end),
                    active_periods(sql, [reseller_id]).get(reseller_id, []))

    def covered_usages(self, invoices: Iterable[tuple[str, date, date, int]]):
        """For each (reseller_id, start, end, covers_through): the calls it covered (audit), in one read."""
        with self.backend.transaction(write=False) as sql:
            for reseller_id, start, end, covers_through in invoices:
                yield q.covered_usage(sql, reseller_id, start, end, covers_through)


def _could_be_reseller(reseller_id: str) -> bool:
    return 0 < len(reseller_id) <= MAX_ID and reseller_id.isprintable()
