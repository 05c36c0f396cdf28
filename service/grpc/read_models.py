"""The wire side of ListInvoices/SearchInvoices: min_position vs the client's deadline, filters,
page tokens, and read-model documents → Invoice messages."""
from datetime import datetime
from types import SimpleNamespace

import grpc

from billing.v1 import invoice_pb2
from domain.errors import InvalidArgument
from domain.invoice import InvoiceStatus
from domain.text import MAX_ID, check_text
from domain.receivables import PaymentStatus
from projections.invoice_list import Receivable
from projections.invoice_search import SearchFilter
from service.grpc import paging
from service.grpc.converters import credit_note_to_proto, date_from_proto, invoice_to_proto, page_size
from service.usecases.invoice_queries import MIN_POSITION_WAIT, InvoiceQueries

STATUS_FILTER = {invoice_pb2.INVOICE_STATUS_UNSPECIFIED: "", invoice_pb2.INVOICE_STATUS_ISSUED: InvoiceStatus.ISSUED,
                 invoice_pb2.INVOICE_STATUS_VOID: InvoiceStatus.VOID,
                 invoice_pb2.INVOICE_STATUS_CREDITED: InvoiceStatus.CREDITED}
PAYMENT_FILTER = {invoice_pb2.PAYMENT_STATUS_UNSPECIFIED: "", invoice_pb2.PAYMENT_STATUS_UNPAID: PaymentStatus.UNPAID,
                  invoice_pb2.PAYMENT_STATUS_PARTIALLY_PAID: PaymentStatus.PARTIALLY_PAID,
                  invoice_pb2.PAYMENT_STATUS_SETTLED: PaymentStatus.SETTLED,
                  invoice_pb2.PAYMENT_STATUS_NONE: PaymentStatus.NONE}
MAX_QUERY = 1000
FIRST = {"before": 2**62}


def caught_up(queries: InvoiceQueries, min_position: int, context) -> bool:
    """Wait for `min_position` (≤ 5 s and ≤ the client's deadline); False after setting
    DEADLINE_EXCEEDED on the context."""
    remaining = context.time_remaining()
    limit = MIN_POSITION_WAIT if remaining is None else max(0.0, min(MIN_POSITION_WAIT, remaining))
    if queries.caught_up(min_position, limit):
        return True
    context.set_code(grpc.StatusCode.DEADLINE_EXCEEDED)
    context.set_details(f"the read model has applied position {queries.applied}, "
                        f"not {min_position}, within {limit:.1f} s")
    return False


def search_filter(request) -> SearchFilter:
    if len(request.query) > MAX_QUERY:
        raise InvalidArgument("query", f"longer than {MAX_QUERY} characters")
    if request.status not in STATUS_FILTER:
        raise InvalidArgument("status", f"unknown status {request.status}")
    start = date_from_proto(request.issued_from, "issued_from") if request.HasField("issued_from") else None
    end = date_from_proto(request.issued_to, "issued_to") if request.HasField("issued_to") else None
    check_text("reseller_id", request.reseller_id, MAX_ID)
    return SearchFilter(request.query, request.reseller_id, STATUS_FILTER[request.status], start, end,
                        receivable_filter(request))


def receivable_filter(request) -> Receivable:
    """payment_status and overdue_on of ListInvoices / SearchInvoices (SPEC §14)."""
    if request.payment_status not in PAYMENT_FILTER:
        raise InvalidArgument("payment_status", f"unknown payment status {request.payment_status}")
    overdue = date_from_proto(request.overdue_on, "overdue_on") if request.HasField("overdue_on") else None
    return Receivable(PAYMENT_FILTER[request.payment_status], overdue)


def page(request, fetch, to_proto=None) -> tuple[list, str]:
    """One page newest first: `fetch(before, limit)` returns [(doc, position)] (ordinal order)."""
    to_proto = to_proto or doc_to_proto
    size = page_size(request.page_size)
    cursor = paging.decode(request.page_token, ("before",)) or FIRST
    if not isinstance(cursor["before"], int):
        raise InvalidArgument("page_token", "not a token this server issued")
    found = fetch(cursor["before"], size + 1)
    rows = found[:size]
    token = paging.encode({"before": rows[-1][0]["ordinal"]}) if len(found) > size else ""
    return [to_proto(doc, position) for doc, position in rows], token


def check_reseller_id(reseller_id: str) -> None:
    check_text("reseller_id", reseller_id, MAX_ID)


def list_page(queries: InvoiceQueries, request) -> invoice_pb2.ListInvoicesResponse:
    check_reseller_id(request.reseller_id)
    receivable = receivable_filter(request)
    invoices, token = page(request, lambda before, limit: queries.page(request.reseller_id, before, limit, receivable))
    return invoice_pb2.ListInvoicesResponse(invoices=invoices, next_page_token=token)


def search_page(queries: InvoiceQueries, request) -> invoice_pb2.SearchInvoicesResponse:
    where = search_filter(request)
    invoices, token = page(request, lambda before, limit: queries.search(where, before, limit))
    return invoice_pb2.SearchInvoicesResponse(invoices=invoices, next_page_token=token)


def doc_to_proto(doc: dict, position: int) -> invoice_pb2.Invoice:
    view = SimpleNamespace(**{**doc, "id": doc["invoice_id"], "issued_at": datetime.fromisoformat(doc["issued_at"])})
    return invoice_to_proto(view, position)


def note_doc_to_proto(doc: dict, position: int):
    view = SimpleNamespace(**{**doc, "id": doc["credit_note_id"], "issued_at": datetime.fromisoformat(doc["issued_at"])})
    return credit_note_to_proto(view, position)
