"""PaymentService (SPEC §14): payments, refunds, their list, and reseller statements."""
from billing.v1 import payment_pb2, payment_pb2_grpc
from domain.errors import InvalidArgument
from service.grpc import paging, read_models
from service.grpc.converters import date_from_proto, date_to_proto, page_size, payment_to_proto, uuid_from
from service.grpc.errors import mapped
from service.usecases.payments import Payments


class PaymentServicer(payment_pb2_grpc.PaymentServiceServicer):
    def __init__(self, payments: Payments):
        self.payments = payments

    @mapped
    def RecordPayment(self, request, context):
        view, _ = self.payments.record(uuid_from(request.invoice_id, "invoice_id"), request.amount,
                                       _day(request, "received_on"), request.reference, request.request_id)
        return payment_to_proto(view)

    @mapped
    def RecordRefund(self, request, context):
        view, _ = self.payments.record(uuid_from(request.invoice_id, "invoice_id"), request.amount,
                                       _day(request, "refunded_on"), request.reference, request.request_id,
                                       refund=True)
        return payment_to_proto(view)

    @mapped
    def ListPayments(self, request, context):
        if not read_models.caught_up(self.payments.queries, request.min_position, context):
            return payment_pb2.ListPaymentsResponse()
        read_models.check_reseller_id(request.reseller_id)
        invoice_id = uuid_from(request.invoice_id, "invoice_id") if request.invoice_id else None
        cursor = paging.decode(request.page_token, ("offset",)) or {"offset": 0}
        if not isinstance(cursor["offset"], int) or cursor["offset"] < 0:
            raise InvalidArgument("page_token", "not a token this server issued")
        size = page_size(request.page_size)
        views, more = self.payments.page(invoice_id, request.reseller_id, cursor["offset"], size)
        token = paging.encode({"offset": cursor["offset"] + size}) if more else ""
        return payment_pb2.ListPaymentsResponse(payments=[payment_to_proto(v) for v in views], next_page_token=token)

    @mapped
    def GetResellerStatement(self, request, context):
        as_of = date_from_proto(request.as_of, "as_of") if request.HasField("as_of") else None
        s = self.payments.statement(request.reseller_id, as_of)
        return payment_pb2.ResellerStatement(
            reseller_id=s.reseller_id, currency=s.currency, as_of=date_to_proto(s.as_of), balance=s.balance,
            aging=payment_pb2.Aging(**s.aging), lines=[payment_pb2.StatementLine(
                number=line["number"], issue_date=date_to_proto(line["issue_date"]),
                due_date=date_to_proto(line["due_date"]) if line["due_date"] else None, total=line["total"],
                credited=line["credited"], paid=line["paid"], outstanding=line["outstanding"],
                days_overdue=line["days_overdue"]) for line in s.lines])


def _day(request, field: str):
    if not request.HasField(field):
        raise InvalidArgument(field, "is required")
    return date_from_proto(getattr(request, field), field)
