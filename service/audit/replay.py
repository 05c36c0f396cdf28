"""Replay the whole event log into fresh in-memory aggregates, checking the log-only rules on the way.

Log-only rules (SPEC §6, §7): invoice numbers unique and gap-free in issue order (each the
previous + 1, except right after a Numbering.Reconfigured that moved the start forward),
numbers formatted by the pattern in force, and every pinned template version uploaded
before the invoice was issued (version 0, the built-in, always exists).
"""
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterator

from domain.invoice import Invoice
from domain.numbering import format_number
from projections.documents import ISSUED, VOIDED, aggregate_doc

BUILTIN_TEMPLATE = 0
PAGE = 2000


@dataclass
class Replay:
    problems: list[str] = field(default_factory=list)
    aggregates: dict[Any, Any] = field(default_factory=dict)
    invoice_ids: list[Any] = field(default_factory=list)  # in issue order
    changes: list[tuple[int, str, Any]] = field(default_factory=list)  # (position, invoice_id, doc)
    events: int = 0
    head: int = 0
    pattern: str = "%num%"
    next_number: int = 1
    numbers: dict[str, str] = field(default_factory=dict)  # number -> invoice id
    templates: set[int] = field(default_factory=lambda: {BUILTIN_TEMPLATE})

    def invoices(self) -> list[Invoice]:
        return [self.aggregates[i] for i in self.invoice_ids]

    def resellers(self) -> int:
        return sum(1 for a in self.aggregates.values() if type(a).__name__ == "Reseller")

    def docs_at(self, position: int) -> dict[str, tuple[dict, int]]:
        """The invoice documents as a read model that applied up to `position` holds them."""
        docs: dict[str, tuple[dict, int]] = {}
        for at, invoice_id, doc in self.changes:
            if at > position:
                break
            docs[invoice_id] = (doc, at)
        return docs


def replay(store) -> Iterator[tuple[int, int]]:
    """Apply the whole log; yields (position reached, head) per page and returns the Replay."""
    r = Replay(head=store.event_log.head())
    position = 0
    while True:
        notifications = store.event_log.after(position + 1, PAGE)
        if not notifications:
            return r
        for n in notifications:
            _apply(r, n, store.decode(n))
        position = notifications[-1].id
        r.events += len(notifications)
        yield position, max(r.head, position)


def _apply(r: Replay, n: Any, event: Any) -> None:
    try:
        aggregate = event.mutate(r.aggregates.get(event.originator_id))
    except Exception as e:  # noqa: BLE001 - a broken history is a finding, not a crash
        r.problems.append(f"position {n.id}: event {n.topic} v{n.originator_version} of {n.originator_id} "
                          f"does not apply: {e}")
        return
    r.aggregates[event.originator_id] = aggregate
    topic = n.topic
    if topic.endswith(":Numbering.Configured") or topic.endswith(":Numbering.Reconfigured"):
        _numbering(r, n, event)
    elif topic == ISSUED:
        _issued(r, n, aggregate)
    elif topic == VOIDED:
        r.changes.append((n.id, str(aggregate.id), aggregate_doc(aggregate)))
    elif "TemplateVersion" in topic and "Uploaded" in topic:
        r.templates.add(int(event.version))


def _numbering(r: Replay, n: Any, event: Any) -> None:
    if n.topic.endswith(".Configured") and r.invoice_ids:
        return  # created in the first invoice's save, after the invoice's own event: already in force
    if event.next_number < r.next_number:
        r.problems.append(f"position {n.id}: numbering moved the next number back from {r.next_number} "
                          f"to {event.next_number}")
    r.pattern, r.next_number = event.pattern, event.next_number


def _issued(r: Replay, n: Any, inv: Invoice) -> None:
    where = f"invoice {inv.number!r} ({inv.id}, position {n.id})"
    if inv.sequence != r.next_number:
        r.problems.append(f"{where}: number sequence {inv.sequence}, expected {r.next_number} "
                          "(numbers must be gap-free in issue order)")
    expected = format_number(r.pattern, inv.sequence, date.fromisoformat(inv.issue_date))
    if inv.number != expected:
        r.problems.append(f"{where}: number should read {expected!r} by pattern {r.pattern!r}")
    if inv.number in r.numbers:
        r.problems.append(f"{where}: number already used by invoice {r.numbers[inv.number]}")
    if inv.template_version not in r.templates:
        r.problems.append(f"{where}: template version {inv.template_version} was not uploaded before issue")
    r.numbers[inv.number] = str(inv.id)
    r.next_number = max(r.next_number, inv.sequence) + 1
    r.invoice_ids.append(inv.id)
    r.changes.append((n.id, str(inv.id), aggregate_doc(inv)))
