"""`billing templates upload|show|list|default|preview`."""
import sys

from billing.v1 import template_pb2, template_pb2_grpc
from service.cli_commands.common import (OK, CliError, add_paging, client_command, fetch_pages, int_range,
                                         print_fields, print_json, print_page, wants_json)
from service.cli_commands.pdf_output import add_output, read_file, write_pdf

NAME = "templates"
VERSION = int_range(0, 2**32 - 1)


def register(sub, common) -> None:
    group = sub.add_parser(NAME, help="invoice templates: upload versions, view source, preview, default")
    cmds = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = cmds.add_parser("upload", parents=[common], help="upload a new template version",
                        description="Each upload is a new immutable version; versions count from 1 "
                                    "(0 is the built-in template).")
    p.add_argument("file", metavar="FILE", help="template source, UTF-8 ('-' = stdin)")
    p.add_argument("--name", required=True, help="display name (1..256 characters)")
    p.add_argument("--logo", metavar="IMAGE", help="PNG or JPEG logo (<= 512 KiB), placed by {{ logo }}")
    p.add_argument("--default", dest="make_default", action="store_true",
                   help="make it the default for new invoices")
    p.set_defaults(func=client_command(upload))

    p = cmds.add_parser("show", parents=[common], help="print a version's source exactly (view source)")
    p.add_argument("version", type=VERSION, metavar="VERSION")
    p.set_defaults(func=client_command(show))

    p = cmds.add_parser("list", parents=[common], help="list the versions, built-in (0) first")
    add_paging(p)
    p.set_defaults(func=client_command(list_))

    p = cmds.add_parser("default", parents=[common], help="make VERSION the default for new invoices")
    p.add_argument("version", type=VERSION, metavar="VERSION")
    p.set_defaults(func=client_command(default))

    p = cmds.add_parser("preview", parents=[common], help="render a template with its placeholders shown literally")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("file", nargs="?", metavar="FILE", help="unsaved template source ('-' = stdin)")
    what.add_argument("--version", type=VERSION, help="a stored version (0 = built-in)")
    add_output(p)
    p.set_defaults(func=client_command(preview))


def stub(client) -> template_pb2_grpc.TemplateServiceStub:
    return client.stub(template_pb2_grpc.TemplateServiceStub)


def source_of(path: str) -> str:
    try:
        return read_file(path, "template").decode("utf-8")
    except UnicodeDecodeError as e:
        raise CliError(f"template {path!r} is not UTF-8 text (byte {e.start})") from None


def upload(client, args) -> int:
    request = template_pb2.UploadTemplateRequest(name=args.name, source=source_of(args.file),
                                                 make_default=args.make_default)
    if args.logo:
        request.logo = read_file(args.logo, "logo")
    output(client.call(stub(client).UploadTemplate, request), args)
    return OK


def show(client, args) -> int:
    template = client.call(stub(client).GetTemplate, template_pb2.GetTemplateRequest(version=args.version))
    if wants_json(args):
        print_json(template)
        return OK
    sys.stdout.flush()
    sys.stdout.buffer.write(template.source.encode("utf-8"))  # byte for byte: no newline translation
    sys.stdout.buffer.flush()
    return OK


def list_(client, args) -> int:
    request = template_pb2.ListTemplatesRequest(page_size=args.page_size, page_token=args.page_token)
    items, token = fetch_pages(client, stub(client).ListTemplates, request, "templates", args.all)
    print_page(items, token, "templates", args, ["Version", "Name", "Default", "Logo", "Position"],
               lambda t: [t.version, t.name, "yes" if t.is_default else "", "yes" if t.has_logo else "",
                          t.position])
    return OK


def default(client, args) -> int:
    request = template_pb2.SetDefaultTemplateRequest(version=args.version)
    output(client.call(stub(client).SetDefaultTemplate, request), args)
    return OK


def preview(client, args) -> int:
    request = template_pb2.PreviewTemplatePdfRequest()
    if args.version is not None:
        request.version = args.version
    else:
        request.source = source_of(args.file)
    write_pdf(client.call(stub(client).PreviewTemplatePdf, request), args)
    return OK


def output(t: template_pb2.Template, args) -> None:
    if wants_json(args):
        print_json(t)
    else:
        print_fields([("Version", t.version), ("Name", t.name), ("Default", "yes" if t.is_default else "no"),
                      ("Logo", "yes" if t.has_logo else "no"), ("Position", t.position)])
