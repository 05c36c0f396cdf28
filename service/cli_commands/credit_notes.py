"""`billing credit-notes issue|show|list|pdf|xml`: correct an issued invoice (SPEC §13)."""
import argparse

import grpc

from billing.v1 import credit_note_pb2, credit_note_pb2_grpc, invoice_pb2, invoice_pb2_grpc
from service.cli_commands.common import (OK, add_min_position, add_paging, client_command, fetch_pages,
                                         fmt_timestamp, money, print_fields, print_json, print_page, print_table,
                                         wants_json)
from service.cli_commands.invoices import STATUS
from service.cli_commands.pdf_output import (SYNTAX, add_facturx, add_output, add_syntax, pdf_format, write_pdf,
                                             write_xml)

NAME = "credit-notes"


def register(sub, common) -> None:
    group = sub.add_parser(NAME, help="correct issued invoices with credit notes",
                           description="An issued invoice is never changed: a credit note credits part of it or "
                                       "all of it. Fully credited, the invoice becomes 'credited' and its period "
                                       "can be invoiced again. (Void is for invoices that were never sent.)")
    cmds = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = cmds.add_parser("issue", parents=[common], help="credit an invoice, in part (--line) or in full",
                        description="Without --line, credits everything of the invoice still creditable.")
    p.add_argument("invoice_id", metavar="INVOICE_ID")
    p.add_argument("--line", dest="lines", action="append", type=credit_line, metavar="GROUP=AMOUNT", default=[],
                   help="credit AMOUNT (> 0, net, in the invoice's currency) of the destination group GROUP; "
                        "repeat for several groups")
    p.add_argument("--reason", required=True, help="why (1..1000 characters; printed on the credit note)")
    p.add_argument("--request-id", default="", help="idempotency key: the same id returns the same credit note")
    p.set_defaults(func=client_command(issue))

    p = cmds.add_parser("show", parents=[common], help="show a credit note with its lines and totals")
    key = p.add_mutually_exclusive_group(required=True)
    key.add_argument("credit_note_id", nargs="?", metavar="ID")
    key.add_argument("--number", help="the formatted credit note number instead of the id")
    p.set_defaults(func=client_command(show))

    p = cmds.add_parser("list", parents=[common], help="list credit notes, newest first")
    p.add_argument("--reseller", default="", help="only this reseller's credit notes")
    p.add_argument("--invoice", default="", metavar="INVOICE_ID", help="only the credit notes of this invoice")
    add_min_position(p)
    add_paging(p)
    p.set_defaults(func=client_command(list_))

    p = cmds.add_parser("pdf", parents=[common], help="render a credit note as PDF (byte-identical on every call)")
    p.add_argument("credit_note_id", metavar="ID")
    add_facturx(p)
    add_output(p)
    p.set_defaults(func=client_command(pdf))

    p = cmds.add_parser("xml", parents=[common], help="export a credit note as EN 16931 XML (CII or UBL)")
    p.add_argument("credit_note_id", metavar="ID")
    add_syntax(p)
    add_output(p, "XML", directory=True)
    p.set_defaults(func=client_command(xml))


def credit_line(text: str) -> credit_note_pb2.CreditNoteLine:
    """argparse type: GROUP=AMOUNT (the last '=' separates: a group name may contain '=')."""
    group, sep, amount = text.rpartition("=")
    if not sep or not group.strip() or not amount.strip():
        raise argparse.ArgumentTypeError(f"want GROUP=AMOUNT, e.g. 'Germany Mobile=10.00', got {text!r}")
    return credit_note_pb2.CreditNoteLine(destination_group=group, amount=amount.strip())


def stub(client) -> credit_note_pb2_grpc.CreditNoteServiceStub:
    return client.stub(credit_note_pb2_grpc.CreditNoteServiceStub)


def issue(client, args) -> int:
    note = client.call(stub(client).IssueCreditNote, credit_note_pb2.IssueCreditNoteRequest(
        invoice_id=args.invoice_id, reason=args.reason, lines=args.lines, request_id=args.request_id))
    output(note, args)
    if not wants_json(args):  # what is left of the invoice (the credit note is already written: never fail here)
        try:
            invoice = client.call(client.stub(invoice_pb2_grpc.InvoiceServiceStub).GetInvoice,
                                  invoice_pb2.GetInvoiceRequest(invoice_id=note.invoice_id))
        except grpc.RpcError:  # e.g. a token that may write but not read
            return OK
        print()
        c = invoice.currency
        print_fields([(f"Invoice {invoice.number}", STATUS.get(invoice.status, "?")),
                      ("Credited in all", f"{money(invoice.credited_total, c)} of {money(invoice.total, c)}"),
                      ("Outstanding", money(invoice.outstanding, c))])
    return OK


def show(client, args) -> int:
    request = credit_note_pb2.GetCreditNoteRequest()
    if args.number is not None:
        request.number = args.number
    else:
        request.credit_note_id = args.credit_note_id
    output(client.call(stub(client).GetCreditNote, request), args)
    return OK


def list_(client, args) -> int:
    request = credit_note_pb2.ListCreditNotesRequest(reseller_id=args.reseller, invoice_id=args.invoice,
                                                     page_size=args.page_size, page_token=args.page_token,
                                                     min_position=args.min_position)
    items, token = fetch_pages(client, stub(client).ListCreditNotes, request, "credit_notes", args.all)
    print_page(items, token, "credit_notes", args,
               ["Number", "Invoice", "Reseller", "Issued", "Reason", "Total", "Currency", "ID"],
               lambda n: [n.number, n.invoice_number, n.reseller_id, issue_date(n), shorten(n.reason), n.total,
                          n.currency, n.credit_note_id])
    return OK


def pdf(client, args) -> int:
    request = credit_note_pb2.RenderCreditNotePdfRequest(credit_note_id=args.credit_note_id, format=pdf_format(args))
    write_pdf(client.call(stub(client).RenderCreditNotePdf, request), args)
    return OK


def xml(client, args) -> int:
    request = invoice_pb2.ExportDocumentXmlRequest(credit_note_id=args.credit_note_id, syntax=SYNTAX[args.syntax])
    write_xml(client.call(client.stub(invoice_pb2_grpc.InvoiceServiceStub).ExportDocumentXml, request), args)
    return OK


def issue_date(note) -> str:
    return fmt_timestamp(note.issued_at, note.bill_to.time_zone, date_only=True)


def shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def output(note: credit_note_pb2.CreditNote, args) -> None:
    if wants_json(args):
        print_json(note)
        return
    c = note.currency
    print_fields([("Credit note", note.number), ("Id", note.credit_note_id),
                  ("Invoice", f"{note.invoice_number} ({note.invoice_id})"),
                  ("Reseller", f"{note.reseller_id} ({note.bill_to.name})"),
                  ("Issued", f"{issue_date(note)} ({fmt_timestamp(note.issued_at)})"),
                  ("Reason", note.reason.splitlines() or [""]), ("Series", note.series_id), ("Currency", c),
                  ("Template", f"version {note.template_version}")])
    print()
    print_table(["Destination group", "Credited"], [[line.destination_group, line.amount] for line in note.lines],
                right=("Credited",))
    print()
    print_fields([("Subtotal", money(note.subtotal, c)), (f"Tax ({note.tax_rate})", money(note.tax, c)),
                  ("Total", money(note.total, c))])
