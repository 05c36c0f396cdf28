"""Payments, refunds and reseller statements (SPEC §14). A payment is an event on its invoice; it
never changes the invoice's totals."""
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID, uuid4, uuid5
from zoneinfo import ZoneInfo

from domain.errors import AlreadyExists, InvalidArgument
from domain.ids import NAMESPACE
from domain.invoice import Invoice, InvoiceStatus
from domain.money import format_money, parse_amount
from domain.receivables import AGING_BUCKETS, aging_bucket, outstanding_of
from domain.text import check_text
from service.retry import retrying
from service.usecases.invoice_queries import InvoiceQueries
from service.usecases.invoicing import MAX_REQUEST_ID, Invoicing
from service.usecases.resellers import Resellers

MAX_REFERENCE = 256


@dataclass(frozen=True)
class PaymentView:
    payment_id: str
    invoice_id: str
    reseller_id: str
    amount: str  # negative for a refund
    currency: str
    received_on: str
    reference: str
    position: int


@dataclass
class Statement:
    reseller_id: str
    currency: str
    as_of: date
    lines: list[dict] = field(default_factory=list)
    balance: str = ""
    aging: dict[str, str] = field(default_factory=dict)


def payment_uuid(request_id: str) -> UUID:
    return uuid5(NAMESPACE, "payment:" + request_id)


class Payments:
    def __init__(self, store, invoicing: Invoicing, resellers: Resellers, queries: InvoiceQueries):
        self.store = store
        self.invoicing = invoicing
        self.resellers = resellers
        self.queries = queries

    def record(self, invoice_id: UUID, amount: str, received_on: date, reference: str, request_id: str,
               refund: bool = False) -> tuple[PaymentView, int]:
        """RecordPayment (money in) or RecordRefund (money back to an overpaid invoice)."""
        check_text("reference", reference, MAX_REFERENCE)
        check_text("request_id", request_id, MAX_REQUEST_ID)
        kind = "refund" if refund else "payment"
        payment_id = str(payment_uuid(f"{kind}:{request_id}") if request_id else uuid4())

        def attempt():
            invoice, _ = self.invoicing.get(invoice_id)
            parsed = parse_amount("amount", amount, invoice.currency)
            done = next((p for p in invoice.payments if p["payment_id"] == payment_id), None)
            if done is not None:  # the same request_id again
                wanted = format_money(-parsed if refund else parsed, invoice.currency)
                if (done["amount"], done["received_on"], done["reference"]) != (wanted, received_on.isoformat(),
                                                                                 reference):
                    raise AlreadyExists(f"request_id {request_id!r} was used for a different payment")
                return _view(invoice, done, self.store.positions.of(invoice.id)), self.store.positions.of(invoice.id)
            act = invoice.record_refund if refund else invoice.record_payment
            act(payment_id, parsed, received_on, reference, request_id)
            position = self.store.save_all(invoice)
            return _view(invoice, invoice.payments[-1], position), position
        return retrying(attempt)

    def page(self, invoice_id: UUID | None, reseller_id: str, offset: int, limit: int) -> tuple[list[PaymentView], bool]:
        """ListPayments: exactly one of invoice_id / reseller_id (else INVALID_ARGUMENT)."""
        if (invoice_id is None) == (not reseller_id):
            raise InvalidArgument("invoice_id", "give exactly one of invoice_id and reseller_id")
        if invoice_id is not None:
            invoice, _ = self.invoicing.get(invoice_id)
            docs = [doc for doc in self.queries.reseller_documents(invoice.reseller_id)
                    if doc["invoice_id"] == str(invoice_id)]
            reseller_id = invoice.reseller_id
        else:
            self.resellers.get(reseller_id)
            docs = self.queries.reseller_documents(reseller_id)
        found = payments_of(docs, reseller_id)
        return found[offset:offset + limit], len(found) > offset + limit

    def statement(self, reseller_id: str, as_of: date | None) -> Statement:
        """Open documents as of a day: payments received and credit notes issued on or before it."""
        terms = self.resellers.get(reseller_id).terms
        as_of = as_of or datetime.now(ZoneInfo(terms.time_zone)).date()
        self.queries.caught_up(0)
        statement = Statement(reseller_id, terms.currency, as_of)
        totals = {bucket: Decimal(0) for bucket in AGING_BUCKETS}
        for doc in self.queries.reseller_documents(reseller_id):
            line = statement_line(doc, as_of)
            if line is None:
                continue
            statement.lines.append(line)
            totals[aging_bucket(_date(doc["due_date"]), as_of)] += Decimal(line["outstanding"])
        statement.lines.sort(key=lambda line: (line["issue_date"], line["number"]))
        statement.balance = format_money(sum(totals.values(), Decimal(0)), terms.currency)
        statement.aging = {bucket: format_money(total, terms.currency) for bucket, total in totals.items()}
        return statement


def statement_line(doc: dict, as_of: date) -> dict | None:
    """One invoice as of a day, or None when it was not issued yet, is void, or owes nothing then."""
    if doc["status"] == InvoiceStatus.VOID or doc["issue_date"] > as_of.isoformat():
        return None
    currency, day = doc["currency"], as_of.isoformat()
    credited = sum((Decimal(c["total"]) for c in doc["credits"] if c["issue_date"] <= day), Decimal(0))
    paid = sum((Decimal(p["amount"]) for p in doc["payments"] if p["received_on"] <= day), Decimal(0))
    outstanding = outstanding_of(False, doc["total"], str(credited), str(paid))
    if outstanding == 0:
        return None
    due = _date(doc["due_date"])
    return {"number": doc["number"], "issue_date": doc["issue_date"], "due_date": doc["due_date"],
            "total": doc["total"], "credited": format_money(credited, currency), "paid": format_money(paid, currency),
            "outstanding": format_money(outstanding, currency),
            "days_overdue": max((as_of - due).days, 0) if due else 0}


def _date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _view(invoice: Invoice, payment: dict, position: int) -> PaymentView:
    return PaymentView(payment["payment_id"], str(invoice.id), invoice.reseller_id, payment["amount"],
                       invoice.currency, payment["received_on"], payment["reference"], position)


def payments_of(docs: list[dict], reseller_id: str) -> list[PaymentView]:
    """Every payment of these invoice documents, newest received_on first, then newest recorded first."""
    found = [PaymentView(p["payment_id"], d["invoice_id"], reseller_id, p["amount"], d["currency"], p["received_on"],
                         p["reference"], 0) for d in docs for p in d["payments"]]
    recorded = {p["payment_id"]: p["recorded_at"] for d in docs for p in d["payments"]}
    return sorted(found, key=lambda v: (v.received_on, recorded[v.payment_id]), reverse=True)
