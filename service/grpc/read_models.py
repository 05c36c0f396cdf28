"""ListInvoices/SearchInvoices on the projections: min_position waits, filters, documents → protos."""
from datetime import datetime
from types import SimpleNamespace

import grpc

from billing.v1 import invoice_pb2
from domain.errors import InvalidArgument
from domain.reseller import MAX_ID
from domain.text import check_text
from projections.invoice_search import SearchFilter
from service.grpc import paging
from service.grpc.converters import date_from_proto, invoice_to_proto, page_size

MIN_POSITION_WAIT = 5.0  # seconds (SPEC §5)
OWN_WRITES_WAIT = 1.0  # without min_position: wait this long at most for this process's acknowledged writes
STATUS_FILTER = {invoice_pb2.INVOICE_STATUS_UNSPECIFIED: "", invoice_pb2.INVOICE_STATUS_ISSUED: "ISSUED",
                 invoice_pb2.INVOICE_STATUS_VOID: "VOID"}
MAX_QUERY = 1000
FIRST = {"before": 2**62}


def caught_up(runner, min_position: int, context) -> bool:
    """Wait (condition variable, ≤ 5 s and ≤ the client's deadline) until the read models applied
    `min_position`; False after setting DEADLINE_EXCEEDED on the context.

    Without min_position, reads still see every write this server process acknowledged
    (usually no wait at all); if the projection is stuck they serve what it has after 1 s.
    """
    if not min_position:
        runner.wait_for(runner.saved, OWN_WRITES_WAIT)
        return True
    remaining = context.time_remaining()
    limit = MIN_POSITION_WAIT if remaining is None else max(0.0, min(MIN_POSITION_WAIT, remaining))
    if runner.wait_for(min_position, limit):
        return True
    context.set_code(grpc.StatusCode.DEADLINE_EXCEEDED)
    context.set_details(f"the read model has applied position {runner.applied}, "
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
    return SearchFilter(request.query, request.reseller_id, STATUS_FILTER[request.status], start, end)


def page(request, fetch) -> tuple[list[invoice_pb2.Invoice], str]:
    """One page newest first: `fetch(before, limit)` returns [(doc, position)]."""
    size = page_size(request.page_size)
    cursor = paging.decode(request.page_token, ("before",)) or FIRST
    if not isinstance(cursor["before"], int):
        raise InvalidArgument("page_token", "not a token this server issued")
    found = fetch(cursor["before"], size + 1)
    rows = found[:size]
    token = paging.encode({"before": rows[-1][0]["sequence"]}) if len(found) > size else ""
    return [doc_to_proto(doc, position) for doc, position in rows], token


def list_page(runner, request):
    check_text("reseller_id", request.reseller_id, MAX_ID)
    invoices, token = page(request, lambda before, limit: runner.query(
        "invoice_list", lambda m, sql, g: m.page(sql, g, request.reseller_id, before, limit)))
    return invoice_pb2.ListInvoicesResponse(invoices=invoices, next_page_token=token)


def search_page(runner, request):
    where = search_filter(request)
    invoices, token = page(request, lambda before, limit: runner.query(
        "invoice_search", lambda m, sql, g: m.search(sql, g, where, before, limit)))
    return invoice_pb2.SearchInvoicesResponse(invoices=invoices, next_page_token=token)


def doc_to_proto(doc: dict, position: int) -> invoice_pb2.Invoice:
    view = SimpleNamespace(**{**doc, "id": doc["invoice_id"], "issued_at": datetime.fromisoformat(doc["issued_at"])})
    return invoice_to_proto(view, position)
