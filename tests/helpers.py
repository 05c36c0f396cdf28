"""Small builders and waiting helpers shared by the tests."""
import socket
import time
from datetime import datetime, timezone

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from billing.v1 import (audit_pb2_grpc, credit_note_pb2, credit_note_pb2_grpc, invoice_pb2, invoice_pb2_grpc,
                        numbering_pb2_grpc, payment_pb2_grpc, reseller_pb2, reseller_pb2_grpc, template_pb2_grpc,
                        types_pb2, usage_pb2, usage_pb2_grpc)
from google.type import date_pb2


class Stubs:
    def __init__(self, channel):
        self.resellers = reseller_pb2_grpc.ResellerServiceStub(channel)
        self.usage = usage_pb2_grpc.UsageServiceStub(channel)
        self.invoices = invoice_pb2_grpc.InvoiceServiceStub(channel)
        self.numbering = numbering_pb2_grpc.NumberingServiceStub(channel)
        self.credit_notes = credit_note_pb2_grpc.CreditNoteServiceStub(channel)
        self.payments = payment_pb2_grpc.PaymentServiceStub(channel)
        self.templates = template_pb2_grpc.TemplateServiceStub(channel)
        self.audit = audit_pb2_grpc.AuditServiceStub(channel)

    def event_count(self) -> int:
        """The log's head position (ListEvents' newest event)."""
        from billing.v1 import audit_pb2
        events = self.audit.ListEvents(audit_pb2.ListEventsRequest(page_size=1)).events
        return events[0].position if events else 0


def reseller(reseller_id="r1", name="Zürich Telecom", currency="EUR", time_zone="Europe/Berlin",
             tax_rate="0.19", **kw) -> reseller_pb2.Reseller:
    return reseller_pb2.Reseller(reseller_id=reseller_id, name=name, currency=currency, time_zone=time_zone,
                                 tax_rate=tax_rate, **kw)


def call(call_id, started: str | datetime | None = "2026-03-10T10:00:00Z", reseller_id="r1", amount="0.0125",
         group="Germany Mobile", seconds=60, currency="EUR", destination="4915112345678") -> usage_pb2.Call:
    c = usage_pb2.Call(call_id=call_id, reseller_id=reseller_id, billed_seconds=seconds, destination=destination,
                       destination_group=group, amount=amount, currency=currency)
    if isinstance(started, datetime):
        c.started_at.FromDatetime(started.astimezone(timezone.utc))
    elif started is not None:
        c.started_at.FromJsonString(started)
    return c


def send(stubs: Stubs, *batches) -> usage_pb2.RecordCallsResponse:
    return stubs.usage.RecordCalls(iter([usage_pb2.CallBatch(calls=list(b)) for b in batches]))


def period(start: str, end: str) -> types_pb2.Period:
    def d(text):
        y, m, dd = map(int, text.split("-"))
        return date_pb2.Date(year=y, month=m, day=dd)
    return types_pb2.Period(start_date=d(start), end_date=d(end))


def create(stubs: Stubs, start: str, end: str, reseller_id="r1", request_id="") -> invoice_pb2.Invoice:
    return stubs.invoices.CreateInvoice(invoice_pb2.CreateInvoiceRequest(
        reseller_id=reseller_id, period=period(start, end), request_id=request_id))


def bad_request_fields(error: grpc.RpcError) -> list[str]:
    """The field names of the google.rpc.BadRequest detail of an INVALID_ARGUMENT error."""
    status = rpc_status.from_call(error)
    fields = []
    for detail in status.details if status else []:
        br = error_details_pb2.BadRequest()
        if detail.Unpack(br):
            fields += [v.field for v in br.field_violations]
    return fields


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for a server started in a subprocess)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.01):
    """Poll `predicate` until it returns a true value and return that value. The timeout is a safety
    net, not a measurement: when it runs out the test fails saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def credit(stubs: Stubs, invoice_id: str, reason="correction", lines=(), request_id=""):
    """IssueCreditNote; `lines` = [(group, amount)] ([] credits everything left)."""
    return stubs.credit_notes.IssueCreditNote(credit_note_pb2.IssueCreditNoteRequest(
        invoice_id=invoice_id, reason=reason, request_id=request_id,
        lines=[credit_note_pb2.CreditNoteLine(destination_group=g, amount=a) for g, a in lines]))


def day_proto(text: str) -> date_pb2.Date:
    y, m, d = map(int, text.split("-"))
    return date_pb2.Date(year=y, month=m, day=d)
