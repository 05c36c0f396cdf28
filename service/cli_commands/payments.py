"""`billing payments record|refund|list`: money received for invoices, and paid back (SPEC §14)."""
from billing.v1 import payment_pb2, payment_pb2_grpc
from service.cli_commands.common import (OK, add_min_position, add_paging, client_command, fetch_pages, fmt_date,
                                         money, parse_date, print_fields, print_json, print_page, wants_json)

NAME = "payments"


def register(sub, common) -> None:
    group = sub.add_parser(NAME, help="record payments and refunds of invoices, list them")
    cmds = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = cmds.add_parser("record", parents=[common], help="record a payment received for an invoice",
                        description="The amount must be > 0 and at most what the invoice still owes.")
    p.add_argument("invoice_id", metavar="INVOICE_ID")
    p.add_argument("--amount", required=True, help="decimal in the invoice's currency, e.g. 119.00")
    p.add_argument("--received-on", dest="day", type=parse_date, required=True, metavar="YYYY-MM-DD",
                   help="the day the money arrived")
    add_reference(p)
    p.set_defaults(func=client_command(record))

    p = cmds.add_parser("refund", parents=[common], help="record money paid back on an overpaid invoice",
                        description="Only an overpaid invoice (outstanding below 0, e.g. after a credit note) can "
                                    "be refunded, at most by what it is overpaid.")
    p.add_argument("invoice_id", metavar="INVOICE_ID")
    p.add_argument("--amount", required=True, help="decimal > 0 in the invoice's currency")
    p.add_argument("--refunded-on", dest="day", type=parse_date, required=True, metavar="YYYY-MM-DD",
                   help="the day the money left")
    add_reference(p)
    p.set_defaults(func=client_command(refund))

    p = cmds.add_parser("list", parents=[common], help="payments and refunds of an invoice or a reseller, "
                                                      "newest first")
    key = p.add_mutually_exclusive_group(required=True)
    key.add_argument("--invoice", metavar="INVOICE_ID", help="the payments of this invoice")
    key.add_argument("--reseller", metavar="RESELLER", help="the payments of all invoices of this reseller")
    add_min_position(p)
    add_paging(p)
    p.set_defaults(func=client_command(list_))


def add_reference(p) -> None:
    p.add_argument("--reference", default="", help="free text, e.g. the bank transfer's reference")
    p.add_argument("--request-id", default="", help="idempotency key: the same id records only once")


def stub(client) -> payment_pb2_grpc.PaymentServiceStub:
    return client.stub(payment_pb2_grpc.PaymentServiceStub)


def record(client, args) -> int:
    output(client.call(stub(client).RecordPayment, payment_pb2.RecordPaymentRequest(
        invoice_id=args.invoice_id, amount=args.amount, received_on=args.day, reference=args.reference,
        request_id=args.request_id)), args)
    return OK


def refund(client, args) -> int:
    output(client.call(stub(client).RecordRefund, payment_pb2.RecordRefundRequest(
        invoice_id=args.invoice_id, amount=args.amount, refunded_on=args.day, reference=args.reference,
        request_id=args.request_id)), args)
    return OK


def list_(client, args) -> int:
    request = payment_pb2.ListPaymentsRequest(invoice_id=args.invoice or "", reseller_id=args.reseller or "",
                                              page_size=args.page_size, page_token=args.page_token,
                                              min_position=args.min_position)
    items, token = fetch_pages(client, stub(client).ListPayments, request, "payments", args.all)
    print_page(items, token, "payments", args,
               ["Date", "Kind", "Amount", "Currency", "Reference", "Invoice", "Reseller", "ID"],
               lambda p: [fmt_date(p.received_on), kind(p), p.amount, p.currency, p.reference, p.invoice_id,
                          p.reseller_id, p.payment_id])
    return OK


def kind(p: payment_pb2.Payment) -> str:
    return "refund" if p.amount.startswith("-") else "payment"


def output(p: payment_pb2.Payment, args) -> None:
    if wants_json(args):
        print_json(p)
        return
    print_fields([("Payment" if kind(p) == "payment" else "Refund", p.payment_id),
                  ("Invoice", p.invoice_id), ("Reseller", p.reseller_id), ("Amount", money(p.amount, p.currency)),
                  ("Received on" if kind(p) == "payment" else "Refunded on", fmt_date(p.received_on)),
                  ("Reference", p.reference), ("Position", p.position)])
