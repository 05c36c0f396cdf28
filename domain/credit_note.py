"""The CreditNote aggregate (SPEC §13): corrects an issued invoice; immutable once issued."""
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.ids import NAMESPACE

MAX_REASON = 1000


def credit_note_uuid(key: str) -> UUID:
    return uuid5(NAMESPACE, "credit-note:" + key)


class CreditNote(Aggregate):
    """What was credited, numbered in its own series, with the reseller as billed at its issue."""

    @staticmethod
    def create_id(key: str) -> UUID:
        return credit_note_uuid(key)

    @event("Issued")
    def __init__(self, key: str, request_id: str, requested: list, sequence: int, number: str, series_id: str,
                 invoice_id: str, invoice_number: str, invoice_issue_date: str, period: dict, reseller_id: str,
                 issued_at: datetime, issue_date: str, reason: str, bill_to: dict, currency: str, lines: list,
                 subtotal: str, tax_rate: str, tax: str, total: str, template_version: int, builtin_revision: int):
        self.key = key
        self.request_id = request_id
        self.requested = requested  # the lines as asked ([] = everything left): idempotency compares them
        self.sequence = sequence
        self.number = number
        self.series_id = series_id
        self.invoice_id = invoice_id
        self.invoice_number = invoice_number
        self.invoice_issue_date = invoice_issue_date
        self.period = period  # the credited invoice's period
        self.reseller_id = reseller_id
        self.issued_at = issued_at
        self.issue_date = issue_date
        self.reason = reason
        self.bill_to = bill_to
        self.currency = currency
        self.lines = lines  # [{destination_group, amount}], amounts positive
        self.subtotal, self.tax_rate, self.tax, self.total = subtotal, tax_rate, tax, total
        self.template_version = template_version
        self.builtin_revision = builtin_revision

    def same_request(self, invoice_id: str, reason: str, requested: list) -> bool:
        return (self.invoice_id, self.reason, self.requested) == (invoice_id, reason, requested)

    def reference(self) -> str:
        """The document.reference placeholder: "Credit note for invoice N of YYYY-MM-DD: reason"."""
        return f"Credit note for invoice {self.invoice_number} of {self.invoice_issue_date}: {self.reason}"
