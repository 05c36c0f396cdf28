"""Replay the whole event log into fresh in-memory aggregates, checking the log-only rules on the way.

Log-only rules (SPEC §6, §7, §12, §13): every series' numbers gap-free in issue order (each the
previous + 1, except right after a reconfiguration that moved the start forward) and formatted
by the pattern in force; numbers unique across all documents; every pinned template version
uploaded before the document was issued (version 0, the built-in, always exists); credits never
exceed their invoice.
"""
import gc
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Iterator

from domain.credit_note import CreditNote
from domain.invoice import Invoice
from domain.numbering import BUILT_IN, DEFAULT_PATTERN, format_number
from projections.documents import CREDIT_NOTE_ISSUED, INVOICE_UPDATES, ISSUED, credit_note_doc, invoice_doc

BUILTIN_TEMPLATE = 0
PAGE = 2000
SERIES_EVENTS = (":Numbering.Configured", ":Numbering.Reconfigured", ":NumberingSeries.Created",
                 ":NumberingSeries.Reconfigured")


@dataclass
class SeriesState:
    pattern: str
    next_number: int
    used: bool = False  # a document took a number: a later Created/Configured was already in force


@dataclass
class Replay:
    problems: list[str] = field(default_factory=list)
    aggregates: dict[Any, Any] = field(default_factory=dict)
    invoice_ids: list[Any] = field(default_factory=list)  # in issue order
    note_ids: list[Any] = field(default_factory=list)
    ordinals: dict[Any, int] = field(default_factory=dict)  # document id -> position of its first event
    changes: dict[str, list[tuple[int, str, dict]]] = field(
        default_factory=lambda: {"invoice": [], "credit_note": []})  # kind -> [(position, id, doc)]
    events: int = 0
    head: int = 0
    series: dict[str, SeriesState] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)  # number -> document id
    templates: set[int] = field(default_factory=lambda: {BUILTIN_TEMPLATE})

    def invoices(self) -> list[Invoice]:
        return [self.aggregates[i] for i in self.invoice_ids]

    def credit_notes(self) -> list[CreditNote]:
        return [self.aggregates[i] for i in self.note_ids]

    def resellers(self) -> int:
        return sum(1 for a in self.aggregates.values() if type(a).__name__ == "Reseller")

    def docs_at(self, kind: str, position: int) -> dict[str, tuple[dict, int]]:
        """The documents of a kind as a read model that applied up to `position` holds them."""
        docs: dict[str, tuple[dict, int]] = {}
        for at, document_id, doc in self.changes[kind]:
            if at > position:
                break
            docs[document_id] = (doc, at)
        return docs

    def counter(self, series_id: str) -> SeriesState:
        if series_id not in self.series:
            pattern = BUILT_IN.get(series_id, (None, DEFAULT_PATTERN))[1]
            self.series[series_id] = SeriesState(pattern, 1)
        return self.series[series_id]


def replay(store) -> Iterator[tuple[int, int]]:
    """Apply the whole log; yields (position reached, head) per page and returns the Replay.

    The replay keeps every aggregate and document: a large heap that only grows. Left alone, the
    cyclic GC walks all of it again and again (a third of a 100k-invoice verify); so what is alive
    after each page is frozen (gc.freeze: left out of later collections) — the caller calls
    `thaw()` when done with the Replay."""
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
        gc.freeze()
        yield position, max(r.head, position)


def thaw() -> None:
    """Undo the replay's gc.freeze: everything is collectable again."""
    gc.unfreeze()


def _apply(r: Replay, n: Any, event: Any) -> None:
    try:
        aggregate = event.mutate(r.aggregates.get(event.originator_id))
    except Exception as e:  # noqa: BLE001 - a broken history is a finding, not a crash
        r.problems.append(f"position {n.id}: event {n.topic} v{n.originator_version} of {n.originator_id} "
                          f"does not apply: {e}")
        return
    r.aggregates[event.originator_id] = aggregate
    topic = n.topic
    if topic.endswith(SERIES_EVENTS):
        _series(r, n, aggregate)
    elif topic == ISSUED:
        _numbered(r, n, aggregate, "invoice " + repr(aggregate.number))
        r.invoice_ids.append(aggregate.id)
        r.ordinals[aggregate.id] = n.id
        r.changes["invoice"].append((n.id, str(aggregate.id), invoice_doc(aggregate, n.id)))
    elif topic in INVOICE_UPDATES:
        _check_credits(r, n, aggregate)
        r.changes["invoice"].append((n.id, str(aggregate.id), invoice_doc(aggregate, r.ordinals[aggregate.id])))
    elif topic == CREDIT_NOTE_ISSUED:
        _numbered(r, n, aggregate, "credit note " + repr(aggregate.number))
        r.note_ids.append(aggregate.id)
        r.ordinals[aggregate.id] = n.id
        r.changes["credit_note"].append((n.id, str(aggregate.id), credit_note_doc(aggregate, n.id)))
    elif "TemplateVersion" in topic and "Uploaded" in topic:
        r.templates.add(int(event.version))


def _series(r: Replay, n: Any, series: Any) -> None:
    state = r.counter(series.series_id)
    if n.topic.endswith((".Configured", ".Created")) and state.used:
        return  # created in its first document's save, after the document's own event: already in force
    if series.next_number < state.next_number:
        r.problems.append(f"position {n.id}: series {series.series_id} moved the next number back from "
                          f"{state.next_number} to {series.next_number}")
    state.pattern, state.next_number = series.pattern, series.next_number


def _numbered(r: Replay, n: Any, doc: Any, what: str) -> None:
    where = f"{what} ({doc.id}, position {n.id})"
    series = r.counter(doc.series_id)
    if doc.sequence != series.next_number:
        r.problems.append(f"{where}: number sequence {doc.sequence} in series {doc.series_id}, expected "
                          f"{series.next_number} (numbers must be gap-free in issue order)")
    expected = format_number(series.pattern, doc.sequence, date.fromisoformat(doc.issue_date))
    if doc.number != expected:
        r.problems.append(f"{where}: number should read {expected!r} by pattern {series.pattern!r}")
    if doc.number in r.numbers:
        r.problems.append(f"{where}: number already used by document {r.numbers[doc.number]}")
    if doc.template_version not in r.templates:
        r.problems.append(f"{where}: template version {doc.template_version} was not uploaded before issue")
    r.numbers[doc.number] = str(doc.id)
    series.next_number = max(series.next_number, doc.sequence) + 1
    series.used = True


def _check_credits(r: Replay, n: Any, inv: Invoice) -> None:
    """Credits never exceed their invoice: per line, in tax, and in total."""
    where = f"invoice {inv.number!r} ({inv.id}, position {n.id})"
    amounts = {line["destination_group"]: Decimal(line["amount"]) for line in inv.lines}
    for group, credited in inv.credited_lines.items():
        if Decimal(credited) > amounts.get(group, Decimal(0)):
            r.problems.append(f"{where}: line {group!r} credited {credited}, more than its {amounts.get(group, 0)}")
    for name, limit in (("credited_tax", inv.tax), ("credited_total", inv.total)):
        if Decimal(getattr(inv, name)) > Decimal(limit):
            r.problems.append(f"{where}: {name} {getattr(inv, name)} exceeds the invoice's {limit}")
    # paid and credited recomputed from the events one by one (SPEC §14: audit recomputes outstanding)
    for name, parts, key in (("paid_total", inv.payments, "amount"), ("credited_total", inv.credits, "total")):
        recomputed = sum((Decimal(p[key]) for p in parts), Decimal(0))
        if recomputed != Decimal(getattr(inv, name)):
            r.problems.append(f"{where}: {name} {getattr(inv, name)} but its events add up to {recomputed}")
