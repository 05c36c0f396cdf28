"""`billing numbering show|set`."""
from billing.v1 import numbering_pb2, numbering_pb2_grpc
from service.cli_commands.common import OK, CliError, client_command, int_range, print_fields, print_json, wants_json

NAME = "numbering"


def register(sub, common) -> None:
    group = sub.add_parser(NAME, help="the invoice-number pattern and counter")
    cmds = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = cmds.add_parser("show", parents=[common], help="show the pattern and the next number")
    p.set_defaults(func=client_command(show))

    p = cmds.add_parser("set", parents=[common], help="change the pattern and/or move the counter forward",
                        description="Placeholders: %%num%% (exactly once), %%year%%, %%mon%%, %%mday%% "
                                    "(issue date in the reseller's time zone).")
    p.add_argument("--pattern", help="e.g. '%%num%%/%%year%%'")
    p.add_argument("--start", type=int_range(1, 2**64 - 1), help="the next number (never below the current one)")
    p.set_defaults(func=client_command(set_))


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
