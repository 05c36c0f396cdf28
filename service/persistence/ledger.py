"""The call ledger: all-or-nothing batch ingest with rollups, and the usage reads use cases need."""
import functools
import weakref
from datetime import date
from itertools import chain, repeat
from typing import Iterable, NamedTuple, Sequence

from domain.calls import BatchResult, IncomingCalls, LocalDays, Screened, check_call
from domain.invoice import UsageRow
from domain.text import MAX_ID
from service.persistence import ledger_queries as q
from service.persistence.backend import Backend, Sql
from service.persistence.document_index import ActivePeriod, active_periods


class CallRow(NamedTuple):
    """One billing_calls row, in column order (the ingest path builds plain tuples in this order)."""

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


CONTENT = slice(0, 9)  # everything but late_for and batch_seq, which depend on when the call arrived
BATCH_SEQ = 10


class Terms(NamedTuple):
    currency: str
    time_zone: str
    batch_seq: int


class Inserted(NamedTuple):
    count: int  # rows the INSERT really added
    late: int | None  # of those, rows with a late_for, if the rollups were written with them (else None)


COLUMNS = ", ".join(CallRow._fields)
INSERT_CALLS = f"INSERT INTO billing_calls ({COLUMNS}) VALUES {{values}} ON CONFLICT (reseller_id, call_id) DO NOTHING"
ROLLUP_KEY = "reseller_id, local_day, destination_group, late_for"
ROLLUP_SUMS = "calls, billed_seconds, amount_units, amount_nanos"
ROLLUP_ON_CONFLICT = (
    f"ON CONFLICT ({ROLLUP_KEY}) DO UPDATE SET "
    "calls = billing_call_rollups.calls + excluded.calls, "
    "billed_seconds = billing_call_rollups.billed_seconds + excluded.billed_seconds, "
    "amount_units = billing_call_rollups.amount_units + excluded.amount_units, "
    "amount_nanos = billing_call_rollups.amount_nanos + excluded.amount_nanos")
ROLLUP_UPSERT = f"INSERT INTO billing_call_rollups ({ROLLUP_KEY}, {ROLLUP_SUMS}) VALUES {{values}} {ROLLUP_ON_CONFLICT}"
# SQLite: rows go in as multi-row VALUES statements of CHUNK rows, the rest in halving chunks
# (a few statement shapes, each cached): a third less CPU than executemany's per-row round.
CHUNK = 64  # 704 parameters for a call row, under SQLite's old limit of 999

# PostgreSQL: the batch is COPYed into a session-local staging table, then one statement inserts
# it, rolls up exactly the rows that statement inserted (RETURNING) and counts them.
STAGE = "billing_calls_stage"
CREATE_STAGE = f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (LIKE billing_calls) ON COMMIT DELETE ROWS"
COPY_STAGE = f"COPY {STAGE} ({COLUMNS}) FROM STDIN (FORMAT BINARY)"
STAGE_TYPES = ["text", "text", "int8", "int4", "int8", "text", "text", "int8", "int8", "text", "int8"]
INSERT_STAGED = (
    f"WITH new AS (INSERT INTO billing_calls ({COLUMNS}) SELECT {COLUMNS} FROM {STAGE} "
    f"ON CONFLICT (reseller_id, call_id) DO NOTHING "
    f"RETURNING {ROLLUP_KEY}, billed_seconds, amount_units, amount_nanos), "
    f"sums AS (SELECT {ROLLUP_KEY}, count(*) AS calls, sum(billed_seconds) AS billed_seconds, "
    f"sum(amount_units) AS amount_units, sum(amount_nanos) AS amount_nanos FROM new GROUP BY {ROLLUP_KEY}), "
    f"rolled AS (INSERT INTO billing_call_rollups ({ROLLUP_KEY}, {ROLLUP_SUMS}) "
    f"SELECT {ROLLUP_KEY}, {ROLLUP_SUMS} FROM sums {ROLLUP_ON_CONFLICT}) "
    "SELECT coalesce(sum(calls), 0), coalesce(sum(calls) FILTER (WHERE late_for <> ''), 0) FROM sums")
assert len(STAGE_TYPES) == len(CallRow._fields)

NS = 1_000_000_000


class Ledger:
    def __init__(self, backend: Backend):
        self.backend = backend
        self._days: dict[str, LocalDays] = {}
        self._staged = weakref.WeakSet()  # PostgreSQL connections whose session has the staging table

    # ---- ingest -------------------------------------------------------------------------
    def record(self, calls: IncomingCalls | Sequence[tuple], base: int = 0) -> BatchResult:
        """Store one batch in one transaction: every valid call or none of them.

        `calls`: an IncomingCalls, or tuples in CallInput's field order; `base` is the stream
        index of the first. This is the hot path of ingest: a batch in which every call is
        acceptable (the usual case) becomes rows a column at a time, in C loops; any other batch
        goes call by call, which finds each rejected call and its reason.
        """
        result = BatchResult()
        calls = IncomingCalls.of(calls)
        if not calls:
            return result
        # Only ids that could name a reseller reach SQL (PostgreSQL text cannot even hold a NUL);
        # the calls of any other id are rejected below as an unknown reseller.
        resellers = {rid for rid in set(calls.columns[1]) if _could_be_reseller(rid)}
        screened = calls.screened()  # before the locks: nothing in it depends on the reseller
        staged = None
        with self.backend.local_locks(resellers), self.backend.transaction(bulk=True) as sql:
            sql.lock_resellers(resellers)
            terms = self._next_batch(sql, resellers) if resellers else {}
            covered = active_periods(sql, resellers)
            rows = self._clean_rows(screened, terms, covered) if screened is not None else None
            if rows is not None:
                indexes = range(base, base + len(rows))
            else:
                rows, indexes = self._rows(calls, base, terms, covered, result)
            if rows:
                if sql.postgres:
                    inserted, staged = self._insert_staged(sql, rows)
                else:
                    inserted = Inserted(_insert_chunks(sql, INSERT_CALLS, rows), None)
                self._settle(sql, rows, indexes, inserted, result)
        if staged is not None:  # committed: the staging table now outlives this transaction
            self._staged.add(staged)
        result.rejected.sort()
        return result

    def _clean_rows(self, calls: Screened, terms: dict[str, Terms],
                    covered: dict[str, list[ActivePeriod]]) -> list[tuple] | None:
        """The rows of a screened batch, built a column at a time; None if a call's reseller is
        unknown or has another currency (then _rows finds which)."""
        rids, started_s = calls.reseller_ids, calls.started_s
        for rid, currency in set(zip(rids, calls.currencies)):
            t = terms.get(rid)
            if t is None or currency != t.currency:
                return None
        if len(terms) == 1:  # one reseller (every rid is in terms by now)
            (t,) = terms.values()
            days = self._local_days(t.time_zone).days_of(started_s)
            seqs = repeat(t.batch_seq)
        else:
            zones = {r: self._local_days(t.time_zone).day_of for r, t in terms.items()}
            days = [zones[r](s) for r, s in zip(rids, started_s)]
            seqs = map({r: t.batch_seq for r, t in terms.items()}.__getitem__, rids)
        if any(covered.get(r) for r in terms):
            late = {(r, d): _late_for(covered.get(r, ()), d) for r, d in set(zip(rids, days))}
            late_for = map(late.__getitem__, zip(rids, days))
        else:
            late_for = repeat("")
        return list(zip(rids, calls.call_ids, calls.started_ns, days, calls.billed_seconds, calls.destinations,
                        calls.groups, calls.amount_units, calls.amount_nanos, late_for, seqs))

    def _rows(self, calls: IncomingCalls, base: int, terms: dict[str, Terms],
              covered: dict[str, list[ActivePeriod]], result: BatchResult) -> tuple[list[tuple], list[int]]:
        """Call by call: the rows of the acceptable calls and their stream indexes; each other call
        is rejected with its reason."""
        rows, indexes, reject = [], [], result.rejected.append
        days = {rid: self._local_days(t.time_zone) for rid, t in terms.items()}
        for index, (call_id, reseller_id, started_s, started_nanos, billed_seconds, destination, group, amount,
                    currency) in enumerate(calls, base):
            checked = check_call(call_id, group, destination, amount, started_s)
            if checked.__class__ is str:
                reject((index, call_id, checked))
                continue
            t = terms.get(reseller_id)
            if t is None:
                reject((index, call_id, f"unknown reseller {reseller_id[:MAX_ID]!r}"))
                continue
            if currency != t.currency:
                reject((index, call_id, f"currency {currency[:8]!r} is not the reseller's {t.currency}"))
                continue
            day = days[reseller_id].day_of(started_s)
            rows.append((reseller_id, call_id, started_s * NS + started_nanos, day, billed_seconds, destination,
                         group, checked[0], checked[1], _late_for(covered.get(reseller_id, ()), day), t.batch_seq))
            indexes.append(index)
        return rows, indexes

    def _insert_staged(self, sql: Sql, rows: list[tuple]) -> tuple[Inserted, object]:
        """PostgreSQL: COPY the rows into the staging table, then insert and roll up in one
        statement. Returns the counts and the connection if the staging table was created here."""
        cursor = sql.cursor
        created = None
        if cursor.connection not in self._staged:
            cursor.execute(CREATE_STAGE)
            created = cursor.connection
        with cursor.copy(COPY_STAGE) as copy:
            copy.set_types(STAGE_TYPES)
            write = copy.write_row
            for row in rows:
                write(row)
        cursor.execute(INSERT_STAGED)
        count, late = cursor.fetchone()
        return Inserted(int(count), int(late)), created

    def _settle(self, sql: Sql, rows: list[tuple], indexes: Sequence[int], inserted: Inserted,
                result: BatchResult) -> None:
        """Count inserted rows, roll them up (unless the insert did), and sort the rest into
        duplicates and conflicts."""
        if inserted.count == len(rows):
            new, others, stored = rows, [], {}
        else:  # some keys were stored before: a row is ours if it carries this batch's batch_seq
            stored = self._stored(sql, rows)
            new, others, taken = [], [], set()
            for r, index in zip(rows, indexes):
                key = r[:2]
                s = stored[key]
                if key not in taken and s[BATCH_SEQ] == r[BATCH_SEQ] and s[CONTENT] == r[CONTENT]:
                    taken.add(key)
                    new.append(r)
                else:
                    others.append((r, index))
            if len(new) != inserted.count:  # never expected; fail the batch rather than miscount it
                raise RuntimeError(f"ledger: {inserted.count} rows inserted but {len(new)} found as this batch's")
        late = inserted.late if inserted.late is not None else self._roll_up(sql, new)
        result.accepted += len(new)
        result.late += late
        for r, index in others:
            if stored[r[:2]][CONTENT] == r[CONTENT]:
                result.duplicates += 1
            else:
                result.rejected.append((index, r[1], "call_id already stored with different content"))

    @staticmethod
    def _roll_up(sql: Sql, new: list[tuple]) -> int:
        """Add the inserted rows to their (reseller, day, group, late_for) rollups; returns how
        many of them are late."""
        sums: dict[tuple, list[int]] = {}
        get = sums.get
        for rid, _, _, day, billed, _, group, units, nanos, late_for, _ in new:
            key = (rid, day, group, late_for)
            s = get(key)
            if s is None:
                sums[key] = [1, billed, units, nanos]
            else:
                s[0] += 1
                s[1] += billed
                s[2] += units
                s[3] += nanos
        _insert_chunks(sql, ROLLUP_UPSERT, [(*k, *v) for k, v in sums.items()])
        return sum(v[0] for k, v in sums.items() if k[3])

    @staticmethod
    def _stored(sql: Sql, rows: list[tuple]) -> dict[tuple[str, str], tuple]:
        """The stored rows with the keys of `rows`, by (reseller_id, call_id)."""
        found = {}
        for rid in {r[0] for r in rows}:
            ids = [r[1] for r in rows if r[0] == rid]
            if sql.postgres:  # one array parameter; the primary key serves it
                sql.execute(f"SELECT {COLUMNS} FROM billing_calls WHERE reseller_id = ? AND call_id = ANY(?)",
                            [rid, ids])
                parts = [sql.fetchall()]
            else:
                parts = []
                for at in range(0, len(ids), 500):
                    part = ids[at:at + 500]
                    sql.execute(f"SELECT {COLUMNS} FROM billing_calls WHERE reseller_id = ? AND call_id IN "
                                f"({','.join('?' * len(part))})", [rid, *part])
                    parts.append(sql.fetchall())
            for part in parts:
                for row in part:
                    found[(row[0], row[1])] = tuple(row)
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


def _insert_chunks(sql: Sql, statement: str, rows: list[tuple]) -> int:
    """Run a `{values}` INSERT over all rows (SQLite), CHUNK rows per statement and the rest in
    halving chunks, in order; returns the number of rows changed."""
    changed, at, size = 0, 0, CHUNK
    while at < len(rows):
        while size > len(rows) - at:
            size //= 2
        part = rows[at:at + size]
        changed += sql.executemany(_values(statement, size, len(part[0])), [list(chain.from_iterable(part))])
        at += size
    return changed


@functools.lru_cache(maxsize=64)
def _values(statement: str, rows: int, columns: int) -> str:
    one = f"({','.join('?' * columns)})"
    return statement.format(values=",".join([one] * rows))


def _could_be_reseller(reseller_id: str) -> bool:
    return 0 < len(reseller_id) <= MAX_ID and reseller_id.isprintable()


def _late_for(periods: Iterable[ActivePeriod], day: int) -> str:
    """The active invoice whose period already covers `day`, or ""."""
    late_for = ""
    for period in periods:
        if period.start_day <= day <= period.end_day:
            late_for = period.invoice_id
    return late_for
