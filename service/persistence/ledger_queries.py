"""Read queries on the call ledger and its rollups: what invoices, summaries and audit read."""
from bisect import bisect_left, bisect_right
from datetime import date
from typing import Iterable, NamedTuple, Sequence

from domain.invoice import UsageRow
from service.persistence.backend import Sql


class RollupRow(NamedTuple):
    local_day: int
    destination_group: str
    late_for: str  # "" or the invoice that already covered the day when the calls arrived
    calls: int
    billed_seconds: int
    amount_units: int
    amount_nanos: int


def _usage(rows) -> list[UsageRow]:
    return [UsageRow(g, int(c), int(s), int(u), int(n)) for g, c, s, u, n in rows]


def period_usage(sql: Sql, reseller_id: str, start: date, end: date) -> list[UsageRow]:
    """Summed stored calls of the period per destination group (an invoice's raw lines)."""
    sql.execute("SELECT destination_group, SUM(calls), SUM(billed_seconds), SUM(amount_units), "
                "SUM(amount_nanos) FROM billing_call_rollups WHERE reseller_id = ? AND local_day "
                "BETWEEN ? AND ? GROUP BY destination_group", (reseller_id, start.toordinal(), end.toordinal()))
    return _usage(sql.fetchall())


def rollups(sql: Sql, reseller_id: str, start: date, end: date) -> list[RollupRow]:
    """The period's rollup rows, one per (day, group, late_for)."""
    sql.execute("SELECT local_day, destination_group, late_for, calls, billed_seconds, amount_units, "
                "amount_nanos FROM billing_call_rollups WHERE reseller_id = ? AND local_day "
                "BETWEEN ? AND ?", (reseller_id, start.toordinal(), end.toordinal()))
    return [RollupRow(int(d), g, lf, int(c), int(s), int(u), int(n)) for d, g, lf, c, s, u, n in sql.fetchall()]


def covered_usage(sql: Sql, reseller_id: str, start: date, end: date, covers_through: int) -> list[UsageRow]:
    """The calls an invoice covered, summed from the raw call rows (audit): those of its period
    stored no later than its batch watermark."""
    sql.execute("SELECT destination_group, COUNT(*), SUM(billed_seconds), SUM(amount_units), "
                "SUM(amount_nanos) FROM billing_calls WHERE reseller_id = ? AND local_day "
                "BETWEEN ? AND ? AND batch_seq <= ? GROUP BY destination_group",
                (reseller_id, start.toordinal(), end.toordinal(), covers_through))
    return _usage(sql.fetchall())


def call_sums(sql: Sql) -> list[tuple]:
    """The calls summed per (reseller, local day, batch, group): what `usages_from_sums` adds up. A
    caller with a big store ends its transaction before adding up (PostgreSQL ends a session idle in
    a transaction after 5 s: the library's default)."""
    sql.execute("SELECT reseller_id, local_day, batch_seq, destination_group, COUNT(*), SUM(billed_seconds), "
                "SUM(amount_units), SUM(amount_nanos) FROM billing_calls "
                "GROUP BY reseller_id, local_day, batch_seq, destination_group")
    return sql.fetchall()


def usages_from_sums(rows: list[tuple], invoices: Sequence[tuple[str, date, date, int]]) -> list[list[UsageRow]]:
    """`covered_usage` of many invoices [(reseller_id, start, end, covers_through)] from ONE pass over
    the call rows (audit verify of a whole store): the `call_sums` rows (calls summed per reseller,
    local day, batch and group in SQL), added up per invoice over its days up to its watermark. Same
    rows as `covered_usage` gives per invoice (in group order)."""
    sums: dict[str, dict[int, list[tuple]]] = {}  # reseller -> day -> [(batch, group, calls, s, units, nanos)]
    for rid, day, batch, group, c, s, u, n in rows:
        sums.setdefault(rid, {}).setdefault(int(day), []).append((int(batch), group, int(c), int(s), int(u), int(n)))
    days = {rid: sorted(by_day) for rid, by_day in sums.items()}  # the days with calls, in order
    out = []
    for reseller_id, start, end, covers_through in invoices:
        found, by_day = days.get(reseller_id, []), sums.get(reseller_id, {})
        groups: dict[str, list[int]] = {}
        for day in found[bisect_left(found, start.toordinal()):bisect_right(found, end.toordinal())]:
            for batch, group, c, s, u, n in by_day[day]:
                if batch <= covers_through:
                    g = groups.get(group)
                    if g is None:
                        groups[group] = [c, s, u, n]
                    else:
                        g[0] += c
                        g[1] += s
                        g[2] += u
                        g[3] += n
        out.append([UsageRow(group, *groups[group]) for group in sorted(groups)])
    return out


def batch_seq(sql: Sql, reseller_id: str) -> int:
    """The reseller's call-batch watermark: how many batches were stored for it so far."""
    sql.execute("SELECT batch_seq FROM billing_resellers WHERE reseller_id = ?", (reseller_id,))
    rows = sql.fetchall()
    return int(rows[0][0]) if rows else 0


def rollup_day_sums(sql: Sql) -> list[tuple]:
    """The rollups summed per (reseller, local day, group) over the whole store: rows of (reseller_id,
    local_day, group, calls, billed_seconds, amount_units, amount_nanos). For tools that fill or check
    a whole store (bench/readside_store.py); a caller with a big store adds up after its transaction."""
    sql.execute("SELECT reseller_id, local_day, destination_group, SUM(calls), SUM(billed_seconds), "
                "SUM(amount_units), SUM(amount_nanos) FROM billing_call_rollups "
                "GROUP BY reseller_id, local_day, destination_group")
    return sql.fetchall()


def batch_seqs(sql: Sql, reseller_ids: Iterable[str] | None = None) -> dict[str, int]:
    """The call-batch watermarks of the given resellers (None: of every reseller) in one read; a
    reseller without a row has none (`batch_seq` reads it as 0)."""
    if reseller_ids is None:
        sql.execute("SELECT reseller_id, batch_seq FROM billing_resellers")
    else:
        ids = sorted(set(reseller_ids))
        if not ids:
            return {}
        sql.execute(f"SELECT reseller_id, batch_seq FROM billing_resellers WHERE reseller_id IN "
                    f"({','.join('?' * len(ids))})", ids)
    return {rid: int(seq) for rid, seq in sql.fetchall()}
