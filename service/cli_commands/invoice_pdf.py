"""`billing invoices pdf ID -o FILE`: adds the `pdf` action to the `invoices` group (listed after it)."""
import argparse

from billing.v1 import invoice_pb2, invoice_pb2_grpc
from service.cli_commands.common import OK, client_command
from service.cli_commands.pdf_output import add_output, write_pdf

NAME = "invoices"


def register(sub, common) -> None:
    group = sub.choices[NAME]  # created by service/cli_commands/invoices.py
    cmds = next(a for a in group._actions if isinstance(a, argparse._SubParsersAction))
    p = cmds.add_parser("pdf", parents=[common], help="render an invoice as PDF (byte-identical on every call)",
                        description="Renders with the template version pinned on the invoice at its issue.")
    p.add_argument("invoice_id", metavar="ID")
    add_output(p)
    p.set_defaults(func=client_command(pdf))


def pdf(client, args) -> int:
    stub = client.stub(invoice_pb2_grpc.InvoiceServiceStub)
    write_pdf(client.call(stub.RenderInvoicePdf, invoice_pb2.RenderInvoicePdfRequest(invoice_id=args.invoice_id)),
              args)
    return OK
