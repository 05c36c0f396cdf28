"""Usage (SPEC §4): store call batches in order, and summarise a reseller's usage by billing state."""
from collections import defaultdict
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Sequence

from domain.calls import BatchResult, CallInput
from domain.period import Period
from service.persistence.ledger import Ledger
from service.usecases.resellers import Resellers

STATES = ("billed", "unbilled", "late")


@dataclass
class GroupUsage:
    """One destination group's [calls, seconds, units, nanos] per billing state."""

    states: dict[str, list[int]] = field(default_factory=lambda: {s: [0, 0, 0, 0] for s in STATES})


class Ingest:
    def __init__(self, ledger: Ledger, resellers: Resellers, writer: Executor):
        self.ledger = ledger
        self.resellers = resellers
        self.writer = writer  # storing threads, owned by the composition root

    def record_calls(self, calls: Sequence[CallInput], base: int = 0) -> BatchResult:
        """Store one batch (all valid calls or none); `base` = stream index of the first call."""
        return self.ledger.record(calls, base)

    def submit(self, calls: Sequence[CallInput], base: int = 0) -> Future:
        """record_calls on a storing thread, so the caller can receive the next batch meanwhile."""
        return self.writer.submit(self.ledger.record, calls, base)

    def usage_summary(self, reseller_id: str, period: Period) -> tuple[str, dict[str, GroupUsage]]:
        """(currency, {group: usage}): billed = covered by an active invoice, late = stored after it."""
        currency = self.resellers.get(reseller_id).terms.currency
        rows, active = self.ledger.rollups_and_active(reseller_id, period.start, period.end)
        groups: dict[str, GroupUsage] = defaultdict(GroupUsage)
        for row in rows:
            cover = next((p.invoice_id for p in active if p.start_day <= row.local_day <= p.end_day), None)
            state = "unbilled" if cover is None else ("late" if row.late_for == cover else "billed")
            totals = groups[row.destination_group].states[state]
            totals[0] += row.calls
            totals[1] += row.billed_seconds
            totals[2] += row.amount_units
            totals[3] += row.amount_nanos
        return currency, dict(sorted(groups.items()))
