"""The documents the read models store: everything ListInvoices/SearchInvoices/ListCreditNotes return.

An invoice document is built from `Invoice.Issued` (the fast path: the event's own JSON) and, after
any later invoice event (void, credit, payment), from the invoice aggregate at that version, with
the same function `invoice_doc` — which `audit verify` also uses on replayed aggregates, so the
tables can be compared with the replay. `ordinal` is the position of the document's first event:
the newest-first order of every list (numbers of different series are not comparable).
"""
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from eventsourcing.utils import get_topic

from domain.credit_note import CreditNote
from domain.invoice import Invoice, InvoiceStatus
from domain.money import format_money
from domain.numbering import INVOICES
from domain.receivables import outstanding_of, payment_status_of

ISSUED = get_topic(Invoice.Issued)
VOIDED = get_topic(Invoice.Voided)
CREDITED = get_topic(Invoice.Credited)
PAID = get_topic(Invoice.PaymentRecorded)
CREDIT_NOTE_ISSUED = get_topic(CreditNote.Issued)
INVOICE_UPDATES = frozenset({VOIDED, CREDITED, PAID})
TOPICS = (ISSUED, VOIDED, CREDITED, PAID, CREDIT_NOTE_ISSUED)
FIELDS = ("number", "reseller_id", "period", "issue_date", "bill_to", "currency", "lines", "subtotal",
          "tax_rate", "tax", "total", "template_version", "sequence")
NOTE_FIELDS = ("number", "series_id", "invoice_id", "invoice_number", "reseller_id", "issue_date", "reason",
               "bill_to", "currency", "lines", "subtotal", "tax_rate", "tax", "total", "template_version")


@dataclass(frozen=True)
class Change:
    """One event as the read models see it: a new document, or the new state of a stored one."""

    position: int
    document_id: str
    kind: str  # "invoice" (new), "invoice_update" (same invoice, new state) or "credit_note" (new)
    doc: dict
    text: str = ""  # the document as JSON (serialised once for every read model)


def invoice_doc(source: Any, ordinal: int) -> dict:
    """The document of an invoice: from an `Invoice.Issued` event's state or from an Invoice."""
    doc = {name: getattr(source, name) for name in FIELDS}
    doc["sequence"] = int(doc["sequence"])
    currency, zero = source.currency, format_money(Decimal(0), source.currency)
    doc["invoice_id"] = str(getattr(source, "originator_id", None) or source.id)
    doc["issued_at"] = _iso(source.issued_at)
    doc["ordinal"] = ordinal
    doc["status"] = getattr(source, "status", InvoiceStatus.ISSUED)
    doc["void_reason"] = getattr(source, "void_reason", "")
    doc["series_id"] = getattr(source, "series_id", INVOICES) or INVOICES
    doc["due_date"] = getattr(source, "due_date", "") or ""
    doc["credited_total"] = getattr(source, "credited_total", zero)
    doc["paid_total"] = getattr(source, "paid_total", zero)
    void = doc["status"] == InvoiceStatus.VOID
    outstanding = outstanding_of(void, doc["total"], doc["credited_total"], doc["paid_total"])
    doc["outstanding"] = format_money(outstanding, currency)
    doc["payment_status"] = payment_status_of(void, outstanding, doc["paid_total"])
    doc["credits"] = [dict(c) for c in getattr(source, "credits", [])]
    doc["payments"] = [dict(p) for p in getattr(source, "payments", [])]
    return doc


def credit_note_doc(source: Any, ordinal: int) -> dict:
    """The document of a credit note: from a `CreditNote.Issued` event's state or a CreditNote."""
    doc = {name: getattr(source, name) for name in NOTE_FIELDS}
    doc["credit_note_id"] = str(getattr(source, "originator_id", None) or source.id)
    doc["issued_at"] = _iso(source.issued_at)
    doc["ordinal"] = ordinal
    return doc


def to_changes(notification: Any, store: Any) -> list[Change]:
    """The read-model changes of one notification (other topics: none, and not decoded)."""
    topic = notification.topic
    if topic == ISSUED:
        doc = invoice_doc(_decode(notification, store.mapper), notification.id)
    elif topic == CREDIT_NOTE_ISSUED:
        doc = credit_note_doc(_decode(notification, store.mapper), notification.id)
    elif topic in INVOICE_UPDATES:  # rare: the aggregate at that version says it all
        invoice = store.repository.get(notification.originator_id, version=notification.originator_version)
        doc = invoice_doc(invoice, 0)  # the ordinal is kept from the stored row
        return [Change(notification.id, str(notification.originator_id), "invoice_update", doc)]
    else:
        return []
    kind = "invoice" if topic == ISSUED else "credit_note"
    return [Change(notification.id, str(notification.originator_id), kind, doc, dumps(doc))]


class _State:
    """An event's stored attributes read as plain JSON (the fast path of a rebuild)."""

    def __init__(self, originator_id: Any, state: dict):
        self.__dict__.update(state)
        self.originator_id = originator_id


def _decode(notification: Any, mapper: Any) -> Any:
    """The event's attributes. Plain JSON parsing is ~3x faster than the mapper's transcoder; the
    only transcoded value the documents use is issued_at (kept as its ISO text)."""
    if mapper.cipher is None and mapper.compressor is None:
        try:
            state = orjson.loads(notification.state)
            issued_at = state.get("issued_at")
            if isinstance(issued_at, dict) and issued_at.get("_type_") == "datetime_iso":
                state["issued_at"] = issued_at["_data_"]
            return _State(notification.originator_id, state)
        except (ValueError, TypeError):
            pass
    return mapper.to_domain_event(notification)


_ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # = json.dumps(doc, separators=...), made once


def dumps(doc: dict) -> str:
    """The document as compact JSON (orjson: ~5x faster; the stdlib for what orjson refuses, such as
    integers beyond 64 bits). Readers parse it, so the two spellings of non-ASCII text are alike."""
    try:
        return orjson.dumps(doc).decode()
    except TypeError:
        return _ENCODE(doc)


def loads(text: str | bytes) -> dict:
    try:
        return orjson.loads(text)
    except ValueError:
        return json.loads(text)  # (what orjson refuses to read, such as integers beyond 64 bits)


def _iso(value: datetime | str) -> str:
    return value if isinstance(value, str) else value.isoformat()
