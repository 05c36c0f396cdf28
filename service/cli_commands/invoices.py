"""`billing invoices calculate|create|show|list|search|void|history`."""
import json
from decimal import ROUND_HALF_UP, Decimal

from billing.v1 import invoice_pb2, invoice_pb2_grpc
from billing.v1.types_pb2 import Period
from service.cli_commands.common import (OK, add_min_position, add_paging, client_command, fetch_pages,
                                         fmt_optional_date, fmt_period, fmt_timestamp, int_range, money, parse_date,
                                         print_fields, print_json, print_page, print_table, wants_json)

NAME = "invoices"
STATUS = {invoice_pb2.INVOICE_STATUS_ISSUED: "issued", invoice_pb2.INVOICE_STATUS_VOID: "void",
          invoice_pb2.INVOICE_STATUS_CREDITED: "credited"}
STATUS_OPTION = {name: number for number, name in STATUS.items()}
PAYMENT_STATUS = {invoice_pb2.PAYMENT_STATUS_UNPAID: "unpaid", invoice_pb2.PAYMENT_STATUS_PARTIALLY_PAID:
                  "partially-paid", invoice_pb2.PAYMENT_STATUS_SETTLED: "settled",
                  invoice_pb2.PAYMENT_STATUS_NONE: "none"}
PAYMENT_STATUS_OPTION = {name: number for number, name in PAYMENT_STATUS.items()}


def register(sub, common) -> None:
    group = sub.add_parser(NAME, help="calculate, issue, read and void invoices")
    cmds = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = cmds.add_parser("calculate", parents=[common], help="preview an invoice (writes nothing)")
    add_reseller_period(p)
    p.set_defaults(func=client_command(calculate))

    p = cmds.add_parser("create", parents=[common], help="issue a numbered invoice for a period")
    add_reseller_period(p)
    p.add_argument("--request-id", default="", help="idempotency key: the same id returns the same invoice")
    p.set_defaults(func=client_command(create))

    p = cmds.add_parser("show", parents=[common], help="show an invoice with its lines and totals")
    key = p.add_mutually_exclusive_group(required=True)
    key.add_argument("invoice_id", nargs="?", metavar="ID")
    key.add_argument("--number", help="the formatted invoice number instead of the id")
    p.add_argument("--version", type=int_range(0, 2**32 - 1), default=0,
                   help="the invoice as of that version (1 = as issued; default latest)")
    p.set_defaults(func=client_command(show))

    p = cmds.add_parser("list", parents=[common], help="list invoices, newest first")
    p.add_argument("--reseller", default="", help="only this reseller's invoices")
    add_receivable_filters(p)
    add_paging(p)
    p.set_defaults(func=client_command(list_))

    p = cmds.add_parser("search", parents=[common], help="find invoices: every word a case- and accent-folded "
                        "substring of number, reseller name or id, an amount or a date (YYYY-MM-DD)")
    p.add_argument("query", metavar="QUERY", nargs="?", default="", help="words (quotes and operators are plain text)")
    p.add_argument("--reseller", default="", help="only this reseller's invoices")
    p.add_argument("--status", choices=list(STATUS_OPTION), help="only invoices with this status")
    p.add_argument("--from", dest="issued_from", type=parse_date, metavar="YYYY-MM-DD", help="issued on or after")
    p.add_argument("--to", dest="issued_to", type=parse_date, metavar="YYYY-MM-DD", help="issued on or before")
    add_receivable_filters(p)
    add_paging(p)
    p.set_defaults(func=client_command(search))

    p = cmds.add_parser("void", parents=[common], help="void an invoice (its number is kept)")
    p.add_argument("invoice_id", metavar="ID")
    p.add_argument("--reason", required=True, help="why (1..1000 characters)")
    p.set_defaults(func=client_command(void))

    p = cmds.add_parser("history", parents=[common], help="the events of an invoice")
    p.add_argument("invoice_id", metavar="ID")
    p.set_defaults(func=client_command(history))


def add_receivable_filters(p) -> None:
    p.add_argument("--payment-status", dest="payment_status", choices=list(PAYMENT_STATUS_OPTION),
                   help="only invoices with this payment status (none = void)")
    p.add_argument("--overdue-on", dest="overdue_on", type=parse_date, metavar="YYYY-MM-DD",
                   help="only invoices still owed whose due date is before this day")
    add_min_position(p)


def set_receivable_filters(request, args) -> None:
    request.min_position = args.min_position
    request.payment_status = PAYMENT_STATUS_OPTION.get(args.payment_status, 0)
    if args.overdue_on is not None:
        request.overdue_on.CopyFrom(args.overdue_on)


def add_reseller_period(p) -> None:
    p.add_argument("reseller_id", metavar="RESELLER")
    p.add_argument("--from", dest="start", type=parse_date, required=True, metavar="YYYY-MM-DD",
                   help="first day of the period")
    p.add_argument("--to", dest="end", type=parse_date, required=True, metavar="YYYY-MM-DD",
                   help="last day of the period (inclusive)")


def stub(client) -> invoice_pb2_grpc.InvoiceServiceStub:
    return client.stub(invoice_pb2_grpc.InvoiceServiceStub)


def period(args) -> Period:
    return Period(start_date=args.start, end_date=args.end)


def calculate(client, args) -> int:
    draft = client.call(stub(client).CalculateInvoice,
                        invoice_pb2.CalculateInvoiceRequest(reseller_id=args.reseller_id, period=period(args)))
    if wants_json(args):
        print_json(draft)
        return OK
    print("draft (not issued)")
    print_fields([("Reseller", f"{draft.reseller_id} ({draft.bill_to.name})"), ("Period", fmt_period(draft.period)),
                  ("Currency", draft.currency)])
    print_body(draft)
    return OK


def create(client, args) -> int:
    invoice = client.call(stub(client).CreateInvoice, invoice_pb2.CreateInvoiceRequest(
        reseller_id=args.reseller_id, period=period(args), request_id=args.request_id))
    output(invoice, args)
    return OK


def show(client, args) -> int:
    request = invoice_pb2.GetInvoiceRequest(version=args.version)
    if args.number is not None:
        request.number = args.number
    else:
        request.invoice_id = args.invoice_id
    output(client.call(stub(client).GetInvoice, request), args)
    return OK


def list_(client, args) -> int:
    request = invoice_pb2.ListInvoicesRequest(reseller_id=args.reseller, page_size=args.page_size,
                                              page_token=args.page_token)
    set_receivable_filters(request, args)
    items, token = fetch_pages(client, stub(client).ListInvoices, request, "invoices", args.all)
    print_page(items, token, "invoices", args,
               ["Number", "Reseller", "Period", "Status", "Issued", "Due", "Total", "Outstanding", "Payment",
                "Currency", "ID"],
               lambda i: [i.number, i.reseller_id, fmt_period(i.period), STATUS.get(i.status, "?"),
                          issue_date(i), fmt_optional_date(i, "due_date"), i.total, i.outstanding,
                          PAYMENT_STATUS.get(i.payment_status, ""), i.currency, i.invoice_id])
    return OK


def search(client, args) -> int:
    request = invoice_pb2.SearchInvoicesRequest(query=args.query, reseller_id=args.reseller,
                                                status=STATUS_OPTION.get(args.status, 0), page_size=args.page_size,
                                                page_token=args.page_token)
    set_receivable_filters(request, args)
    for name in ("issued_from", "issued_to"):
        if getattr(args, name) is not None:
            getattr(request, name).CopyFrom(getattr(args, name))
    items, token = fetch_pages(client, stub(client).SearchInvoices, request, "invoices", args.all)
    print_page(items, token, "invoices", args,
               ["Number", "Reseller", "Name", "Period", "Status", "Issued", "Due", "Total", "Outstanding", "Payment",
                "Currency", "ID"],
               lambda i: [i.number, i.reseller_id, i.bill_to.name, fmt_period(i.period), STATUS.get(i.status, "?"),
                          issue_date(i), fmt_optional_date(i, "due_date"), i.total, i.outstanding,
                          PAYMENT_STATUS.get(i.payment_status, ""), i.currency, i.invoice_id])
    return OK


def void(client, args) -> int:
    invoice = client.call(stub(client).VoidInvoice,
                          invoice_pb2.VoidInvoiceRequest(invoice_id=args.invoice_id, reason=args.reason))
    output(invoice, args)
    return OK


def history(client, args) -> int:
    h = client.call(stub(client).GetInvoiceHistory, invoice_pb2.GetInvoiceHistoryRequest(invoice_id=args.invoice_id))
    if wants_json(args):
        print_json(h)
        return OK
    print(f"history of invoice {h.invoice_id}")
    print_table(["Version", "Event", "Time (UTC)", "Details"],
                [[e.version, e.type, fmt_timestamp(e.timestamp), compact(e.payload_json)] for e in h.events],
                right=("Version",))
    return OK


def compact(payload_json: str, limit: int = 160) -> str:
    """The event payload on one line (long payloads are shortened; --json has them whole)."""
    try:
        text = json.dumps(json.loads(payload_json), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        text = payload_json
    return text if len(text) <= limit else text[:limit - 1] + "…"


def minutes(seconds: int) -> str:
    return str((Decimal(seconds) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def issue_date(invoice) -> str:
    return fmt_timestamp(invoice.issued_at, invoice.bill_to.time_zone, date_only=True)


def output(invoice: invoice_pb2.Invoice, args) -> None:
    if wants_json(args):
        print_json(invoice)
        return
    fields = [("Invoice", invoice.number), ("Id", invoice.invoice_id), ("Status", STATUS.get(invoice.status, "?")),
              ("Reseller", f"{invoice.reseller_id} ({invoice.bill_to.name})"), ("Period", fmt_period(invoice.period)),
              ("Issued", f"{issue_date(invoice)} ({fmt_timestamp(invoice.issued_at)})"),
              ("Due", fmt_optional_date(invoice, "due_date") or "(no due date)"),
              ("Series", invoice.series_id), ("Currency", invoice.currency),
              ("Template", f"version {invoice.template_version}")]
    if invoice.void_reason:
        fields.append(("Void reason", invoice.void_reason))
    print_fields(fields)
    c = invoice.currency
    receivable = [("Credited", money(invoice.credited_total, c)), ("Paid", money(invoice.paid_total, c)),
                  ("Outstanding", money(invoice.outstanding, c)),
                  ("Payment status", PAYMENT_STATUS.get(invoice.payment_status, "?"))]
    print_body(invoice, receivable if invoice.outstanding else [])  # (a first-release server sends none)


def print_body(inv, more: list[tuple[str, object]] = ()) -> None:
    """The lines table and the totals of an Invoice or InvoiceDraft (then `more` pairs, aligned with them)."""
    print()
    if inv.lines:
        print_table(["Destination group", "Calls", "Minutes", "Amount"],
                    [[line.destination_group, line.calls, minutes(line.billed_seconds), line.amount]
                     for line in inv.lines], right=("Calls", "Minutes", "Amount"))
    else:
        print("no calls in this period")
    print()
    rate = inv.tax_rate
    print_fields([("Subtotal", f"{inv.subtotal} {inv.currency}"), (f"Tax ({rate})", f"{inv.tax} {inv.currency}"),
                  ("Total", f"{inv.total} {inv.currency}"), *more])
