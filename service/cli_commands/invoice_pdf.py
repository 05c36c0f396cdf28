"""`billing invoices pdf|xml ID -o FILE`: adds the document actions to the `invoices` group (listed after it)."""
import argparse

from billing.v1 import invoice_pb2, invoice_pb2_grpc
from service.cli_commands.common import OK, client_command
from service.cli_commands.pdf_output import (SYNTAX, add_facturx, add_output, add_syntax, pdf_format, write_pdf,
                                             write_xml)

NAME = "invoices"


def register(sub, common) -> None:
    group = sub.choices[NAME]  # created by service/cli_commands/invoices.py
    cmds = next(a for a in group._actions if isinstance(a, argparse._SubParsersAction))
    p = cmds.add_parser("pdf", parents=[common], help="render an invoice as PDF (byte-identical on every call)",
                        description="Renders with the template version pinned on the invoice at its issue. "
                                    "--facturx writes the e-invoice PDF (PDF/A-3B with factur-x.xml inside).")
    p.add_argument("invoice_id", metavar="ID")
    add_facturx(p)
    add_output(p)
    p.set_defaults(func=client_command(pdf))

    p = cmds.add_parser("xml", parents=[common], help="export an invoice as EN 16931 XML (CII or UBL)",
                        description="Writes the e-invoice XML; its sha256, size and file name go to stderr.")
    p.add_argument("invoice_id", metavar="ID")
    add_syntax(p)
    add_output(p, "XML", directory=True)
    p.set_defaults(func=client_command(xml))


def stub(client) -> invoice_pb2_grpc.InvoiceServiceStub:
    return client.stub(invoice_pb2_grpc.InvoiceServiceStub)


def pdf(client, args) -> int:
    request = invoice_pb2.RenderInvoicePdfRequest(invoice_id=args.invoice_id, format=pdf_format(args))
    write_pdf(client.call(stub(client).RenderInvoicePdf, request), args)
    return OK


def xml(client, args) -> int:
    request = invoice_pb2.ExportDocumentXmlRequest(invoice_id=args.invoice_id, syntax=SYNTAX[args.syntax])
    write_xml(client.call(stub(client).ExportDocumentXml, request), args)
    return OK
