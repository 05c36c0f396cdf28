"""`billing audit stream|events|verify` over the API; `audit verify --database URL` offline."""
import json

from billing.v1 import audit_pb2, audit_pb2_grpc
from service.cli_commands.audit_verify import add_offline_option, report, verify_offline
from service.cli_commands.common import (client_command, fmt_timestamp, int_range, print_json, print_table,
                                         progress_bar, to_dict, wants_json)

NAME = "audit"


def register(sub, common) -> None:
    group = sub.add_parser(NAME, help="the event log: stream it, list the latest events, verify the store")
    cmds = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = cmds.add_parser("stream", parents=[common], help="every event as a JSON line, in order")
    p.add_argument("--from", dest="start", type=int_range(0, 2**63 - 1), default=1, metavar="N",
                   help="first position (inclusive, default 1)")
    p.add_argument("--follow", action="store_true", help="keep streaming new events (Ctrl-C ends)")
    p.set_defaults(func=client_command(stream))
    p = cmds.add_parser("events", parents=[common], help="the latest events, newest first")
    p.add_argument("--before", type=int_range(0, 2**63 - 1), default=0, metavar="N",
                   help="events below this position (default: the newest)")
    p.add_argument("--page-size", type=int_range(0, 500), default=20, help="how many (default 20)")
    p.set_defaults(func=client_command(events))
    p = cmds.add_parser("verify", parents=[common],
                        help="replay the store and check numbers, totals, calls and read models")
    add_offline_option(p)
    p.set_defaults(func=verify)


def stub(client) -> audit_pb2_grpc.AuditServiceStub:
    return client.stub(audit_pb2_grpc.AuditServiceStub)


def stream(client, args) -> int:
    request = audit_pb2.StreamEventsRequest(from_position=args.start, follow=args.follow)
    for event in stub(client).StreamEvents(request, metadata=client.metadata,
                                           timeout=client.timeout if client.explicit_timeout else None):
        print(json.dumps(to_dict(event), ensure_ascii=False, separators=(",", ":")), flush=True)
    return 0


def events(client, args) -> int:
    answer = client.call(stub(client).ListEvents,
                         audit_pb2.ListEventsRequest(before_position=args.before, page_size=args.page_size))
    if wants_json(args):
        print_json(answer)
        return 0
    print_table(["Position", "Time (UTC)", "Topic", "Aggregate", "Version"],
                [[e.position, fmt_timestamp(e.timestamp), e.topic.rpartition(":")[2], e.originator_id,
                  e.originator_version] for e in answer.events], right=("Position", "Version"))
    return 0


def verify(args) -> int:
    if getattr(args, "database", None):
        return verify_offline(args)
    return client_command(verify_online)(args)


def verify_online(client, args) -> int:
    last = None
    stream = stub(client).VerifyStore(audit_pb2.VerifyStoreRequest(), metadata=client.metadata,
                                      timeout=client.timeout if client.explicit_timeout else None)
    with progress_bar("events") as update:
        for last in stream:
            update(last.events_checked, last.events_total)
    return report({"events": last.events_checked}, list(last.problems), [], args,
                  summary=f"checked {last.events_checked} events")

