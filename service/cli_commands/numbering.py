"""`billing numbering show|set` (the built-in invoice counter) and `billing numbering series list|show|set`."""
from billing.v1 import numbering_pb2, numbering_pb2_grpc
from service.cli_commands.common import (OK, CliError, add_paging, client_command, fetch_pages, int_range,
                                         print_fields, print_json, print_page, wants_json)

NAME = "numbering"
KIND = {numbering_pb2.DOCUMENT_KIND_INVOICE: "invoice", numbering_pb2.DOCUMENT_KIND_CREDIT_NOTE: "credit-note"}
KIND_OPTION = {name: number for number, name in KIND.items()}


def register(sub, common) -> None:
    group = sub.add_parser(NAME, help="document numbers: the built-in invoice counter and the numbering series")
    cmds = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = cmds.add_parser("show", parents=[common], help="show the pattern and the next number")
    p.set_defaults(func=client_command(show))

    p = cmds.add_parser("set", parents=[common], help="change the pattern and/or move the counter forward",
                        description="Placeholders: %num% (exactly once), %year%, %mon%, %mday% "
                                    "(issue date in the reseller's time zone).")
    p.add_argument("--pattern", help="e.g. '%%num%%/%%year%%'")
    p.add_argument("--start", type=int_range(1, 2**64 - 1), help="the next number (never below the current one)")
    p.set_defaults(func=client_command(set_))

    series = cmds.add_parser("series", help="numbering series: one gap-free counter each (per kind, per issuer)",
                             description="Built in: 'invoices' (the counter of `numbering show|set`) and "
                                         "'credit-notes'. A reseller chooses its series with `resellers upsert "
                                         "--invoice-series/--credit-note-series`.")
    actions = series.add_subparsers(dest="series_action", required=True, metavar="ACTION")

    p = actions.add_parser("list", parents=[common], help="list the series by id")
    add_paging(p)
    p.set_defaults(func=client_command(series_list))

    p = actions.add_parser("show", parents=[common], help="show one series")
    p.add_argument("series_id", metavar="ID")
    p.set_defaults(func=client_command(series_show))

    p = actions.add_parser("set", parents=[common], help="create a series, or change its pattern / move it forward",
                           description="Placeholders as in `numbering set`: %num% (exactly once), %year%, "
                                       "%mon%, %mday%.")
    p.add_argument("series_id", metavar="ID", help="lowercase letters, digits and '-', e.g. 'reseller-a-inv'")
    p.add_argument("--kind", choices=list(KIND_OPTION), required=True,
                   help="what the series numbers (it cannot change later)")
    p.add_argument("--pattern", default="", help="e.g. 'A-%%year%%-%%num%%' (required for a new series)")
    p.add_argument("--start", type=int_range(1, 2**64 - 1), default=0,
                   help="new series: the first number (default 1); existing: the next number, only forward")
    p.set_defaults(func=client_command(series_set))


def stub(client) -> numbering_pb2_grpc.NumberingServiceStub:
    return client.stub(numbering_pb2_grpc.NumberingServiceStub)


def show(client, args) -> int:
    output(client.call(stub(client).GetNumbering, numbering_pb2.GetNumberingRequest()), args)
    return OK


def set_(client, args) -> int:
    if not args.pattern and args.start is None:
        raise CliError("nothing to change: give --pattern and/or --start")
    n = client.call(stub(client).UpdateNumbering,
                    numbering_pb2.UpdateNumberingRequest(pattern=args.pattern or "", start=args.start or 0))
    output(n, args)
    return OK


def output(n: numbering_pb2.Numbering, args) -> None:
    if wants_json(args):
        print_json(n)
    else:
        print_fields([("Pattern", n.pattern), ("Next number", n.next_number), ("Position", n.position)])


def series_list(client, args) -> int:
    request = numbering_pb2.ListSeriesRequest(page_size=args.page_size, page_token=args.page_token)
    items, token = fetch_pages(client, stub(client).ListSeries, request, "series", args.all)
    print_page(items, token, "series", args, ["Series", "Kind", "Pattern", "Next number", "Position"],
               lambda s: [s.series_id, KIND.get(s.kind, "?"), s.pattern, s.next_number, s.position],
               right=("Next number", "Position"))
    return OK


def series_show(client, args) -> int:
    series_output(client.call(stub(client).GetSeries, numbering_pb2.GetSeriesRequest(series_id=args.series_id)),
                  args)
    return OK


def series_set(client, args) -> int:
    series_output(client.call(stub(client).UpsertSeries, numbering_pb2.UpsertSeriesRequest(
        series_id=args.series_id, kind=KIND_OPTION[args.kind], pattern=args.pattern, start=args.start)), args)
    return OK


def series_output(s: numbering_pb2.NumberingSeries, args) -> None:
    if wants_json(args):
        print_json(s)
    else:
        print_fields([("Series", s.series_id), ("Kind", KIND.get(s.kind, "?")), ("Pattern", s.pattern),
                      ("Next number", s.next_number), ("Position", s.position)])
