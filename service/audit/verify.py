"""Audit verify (SPEC §8, §11): replay the store, then check invoices, the ledger and every read model.

Checks, each reported with the invoice (number and id), what was expected and what was found:
the log-only rules of service/audit/replay.py; each invoice's totals recomputed from its
lines; its lines and totals recomputed from the calls it covered (its period up to its
covers_through watermark: later, late calls excluded); the invoice index; the invoice-list
and search projections equal the replay at the position they recorded.

`verify_steps` runs inside the server (AuditService.VerifyStore); `verify_database` opens a
store directly for `billing audit verify --database URL` (offline, server stopped).
"""
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Iterator

from domain.invoice import Invoice, InvoiceStatus, compute_totals
from domain.numbering import DocumentKind
from domain.money import format_money, round_money
from domain.period import Period
from projections import tracking
from projections.documents import dumps, loads
from service.audit.replay import Replay, replay, thaw
from service.config import parse_database_url
from service.event_store import EventStore
from service.persistence.document_index import DocumentIndex, IndexRow
from service.persistence import ledger_queries
from service.persistence.ledger import Ledger

Step = tuple[int, int]  # (events checked, events total)


@dataclass
class Report:
    events: int = 0
    invoices: int = 0
    resellers: int = 0
    calls: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems


def verify_steps(store, ledger: Ledger, index: DocumentIndex) -> Iterator[Step]:
    """Yield progress while replaying; return the Report."""
    try:
        r = yield from replay(store)
        report = Report(events=r.events, invoices=len(r.invoice_ids), resellers=r.resellers(), problems=r.problems)
        invoices = r.invoices()
        for inv in invoices:
            check_lines(inv, report)
        check_calls(ledger, invoices, report)
        check_document_index(index.rows(), invoices, r.credit_notes(), report)
        check_projections(store, r, report)
    finally:
        thaw()
    yield r.head, r.head
    return report


def verify(store, ledger: Ledger, index: DocumentIndex, progress: Callable[[int, int], None] = lambda d, t: None):
    steps = verify_steps(store, ledger, index)
    while True:
        try:
            progress(*next(steps))
        except StopIteration as done:
            return done.value


def verify_database(url: str, progress: Callable[[int, int], None] = lambda d, t: None) -> Report:
    """Open the store at `url` directly (read-only use) and verify it; raises on a bad URL or store."""
    store = EventStore(parse_database_url(url))
    try:
        return verify(store, Ledger(store.backend), DocumentIndex(store.backend), progress)
    finally:
        store.close()


def where(inv: Invoice) -> str:
    return f"invoice {inv.number!r} ({inv.id})"


def check_lines(inv: Invoice, report: Report) -> None:
    """subtotal = Σ line amounts; tax = round(subtotal × rate); total = subtotal + tax."""
    subtotal = sum((Decimal(line["amount"]) for line in inv.lines), Decimal(0))
    tax = round_money(subtotal * Decimal(inv.tax_rate), inv.currency)
    expected = {"subtotal": format_money(subtotal, inv.currency), "tax": format_money(tax, inv.currency),
                "total": format_money(subtotal + tax, inv.currency)}
    for name, value in expected.items():
        if getattr(inv, name) != value:
            report.problems.append(f"{where(inv)}: {name} from its lines should be {value}, found {getattr(inv, name)}")


def check_calls(ledger: Ledger, invoices: list[Invoice], report: Report) -> None:
    """Each invoice's lines and totals recomputed from the stored calls it covered."""
    keys = []
    for inv in invoices:
        period = Period.from_dict(inv.period)
        keys.append((inv.reseller_id, period.start, period.end, inv.covers_through))
    with ledger.backend.transaction(write=False) as sql:  # one pass over the calls, not one query per invoice
        sums = ledger_queries.call_sums(sql)
    usages = ledger_queries.usages_from_sums(sums, keys)  # after the transaction: seconds of Python at 1M calls
    for inv, usage in zip(invoices, usages):
        report.calls += sum(row.calls for row in usage)
        totals = compute_totals(usage, inv.currency, inv.tax_rate)
        if totals.lines != inv.lines:
            found = {line["destination_group"]: line for line in inv.lines}
            for line in totals.lines:
                stored = found.pop(line["destination_group"], None)
                if stored != line:
                    report.problems.append(f"{where(inv)}: line {line['destination_group']!r} from the stored calls "
                                           f"is {_line(line)}, invoice has {_line(stored)}")
            for group, stored in found.items():
                report.problems.append(f"{where(inv)}: line {group!r} ({_line(stored)}) has no stored calls")
        for name in ("subtotal", "tax", "total"):
            if getattr(totals, name) != getattr(inv, name):
                report.problems.append(f"{where(inv)}: {name} from the stored calls is {getattr(totals, name)}, "
                                       f"invoice has {getattr(inv, name)}")


def _line(line: dict | None) -> str:
    if line is None:
        return "nothing"
    return f"{line['calls']} calls, {line['billed_seconds']} s, {line['amount']}"


def check_document_index(stored: dict[str, IndexRow], invoices: list[Invoice], notes: list, report: Report) -> None:
    """The document index (numbers, series, statuses, active periods) equals the replayed documents."""
    expected_rows = []
    for inv in invoices:
        period = Period.from_dict(inv.period)
        expected_rows.append((where(inv), IndexRow(str(inv.id), DocumentKind.INVOICE, inv.reseller_id, inv.number,
                                                   inv.series_id, inv.sequence, inv.status, period.start.toordinal(),
                                                   period.end.toordinal())))
    for note in notes:
        period = Period.from_dict(note.period)
        expected_rows.append((f"credit note {note.number!r} ({note.id})", IndexRow(
            str(note.id), DocumentKind.CREDIT_NOTE, note.reseller_id, note.number, note.series_id, note.sequence,
            InvoiceStatus.ISSUED, period.start.toordinal(), period.end.toordinal())))
    for label, expected in expected_rows:
        found = stored.pop(expected.document_id, None)
        if found is None:
            report.problems.append(f"billing_documents: {label} is missing")
        elif found != expected:
            report.problems.append(f"billing_documents: {label}: {_diff(IndexRow._fields, expected, found)}")
    for document_id, found in stored.items():
        report.problems.append(f"billing_documents: row {document_id} (number {found.number!r}) has no events")


def check_projections(store, r: Replay, report: Report) -> None:
    models = tracking.default_models(store.backend.postgres)
    stored = {}  # name -> (position, rows as stored): read in one transaction, compared after it
    shorts = None  # (the search model, its table of one- and two-character sequences)
    with store.backend.transaction(write=False) as sql:
        if sql.postgres:  # one snapshot for the tracking rows and every table (a running server applies meanwhile)
            sql.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        try:
            state = tracking.read_state(sql, models)
        except Exception:  # noqa: BLE001 - never set up: no server has run on this store
            report.notes.append("projections: not set up yet (no server has run on this store)")
            return
        stale = tracking.stale_models(sql, models) if state else []
        for m in models:
            if m.name in stale:
                report.notes.append(f"projection {m.name}: built by an older release; the server rebuilds it "
                                    "at its next start")
                continue
            if m.name not in state:  # e.g. a read model newer than the last server run on this store
                report.notes.append(f"projection {m.name}: not set up yet (the server creates it at its next start)")
                continue
            generation, position = state[m.name]
            stored[m.name] = position, m.dump_text(sql, generation)
            if hasattr(m, "stored_shorts"):
                shorts = m, m.stored_shorts(sql, generation)
    if shorts:
        model, seqs = shorts
        missing = model.missing_shorts(seqs, stored[model.name][1])
        if missing:
            report.problems.append(f"projection {model.name}: {len(missing)} short sequences of stored haystacks "
                                   f"are missing from its lookup table (searches for them find nothing): "
                                   f"{', '.join(map(repr, missing[:10]))}")
    for m in models:
        if m.name not in stored:
            continue
        position, rows = stored[m.name]
        if position < r.head:
            report.notes.append(f"projection {m.name}: applied position {position} of {r.head} (catching up)")
        if position > r.head:
            report.problems.append(f"projection {m.name}: applied position {position} beyond the log's head {r.head}")
        kind = "credit_note" if "credit_note" in m.inserts else "invoice"
        docs = r.docs_at(kind, position)
        expected = {i: m.row(doc, at) for i, (doc, at) in docs.items()}
        compare_rows(m, {row[0]: row for row in rows}, expected, report, {i: doc["number"] for i, (doc, _) in docs.items()})


def compare_rows(model, found: dict, expected: dict, report: Report, numbers: dict) -> None:
    """`found`: rows as stored (documents as JSON text); `expected`: rows as `model.row` makes them."""
    columns = model.columns
    for invoice_id, row in expected.items():
        got = found.pop(invoice_id, None)
        label = f"projection {model.name}: invoice {row[0]} (number {numbers[invoice_id]!r})"
        if got is None:
            report.problems.append(f"{label}: row missing")
        elif not _same_row(model, got, row):
            report.problems.append(f"{label}: {_diff(columns, row, model.parse_dump([got])[got[0]])}")
    for invoice_id, got in found.items():
        report.problems.append(f"projection {model.name}: row {invoice_id} has no replayed invoice")


def _same_row(model, got: tuple, row: tuple) -> bool:
    """The stored row equals the expected one; a document compares as JSON text first (the runner stores
    `dumps(doc)`), and only when the texts differ as parsed JSON."""
    if not model.holds_doc:
        return tuple(got) == tuple(row)
    if tuple(got[:-1]) != tuple(row[:-1]):
        return False
    return got[-1] == dumps(row[-1]) or loads(got[-1]) == row[-1]


def _diff(columns, expected, found) -> str:
    for name, want, got in zip(columns, expected, found):
        if want != got:
            if isinstance(want, dict) and isinstance(got, dict):
                keys = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
                return "; ".join(f"{name}.{k} expected {want.get(k)!r}, found {got.get(k)!r}" for k in keys)
            return f"{name} expected {want!r}, found {got!r}"
    return f"expected {expected!r}, found {found!r}"
