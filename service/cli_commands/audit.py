"""`billing audit stream` (over gRPC, JSON lines) and `billing audit verify` (on the store directly)."""
import json

from billing.v1 import audit_pb2, audit_pb2_grpc
from service.cli_commands.common import client_command, int_range, print_json, to_dict, wants_json
from service.cli_commands.store import AUDIT_FAILED, database_options, progress_bar, store_command

NAME = "audit"


def register(sub, common) -> None:
    group = sub.add_parser(NAME, help="stream the event log; verify the store by replaying it")
    cmds = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = cmds.add_parser("stream", parents=[common], help="every event as a JSON line, in order")
    p.add_argument("--from", dest="start", type=int_range(0, 2**63 - 1), default=1, metavar="N",
                   help="first position (inclusive, default 1)")
    p.add_argument("--follow", action="store_true", help="keep streaming new events (Ctrl-C ends)")
    p.set_defaults(func=client_command(stream))
    p = cmds.add_parser("verify", parents=[database_options()],
                        help="replay the store and check numbers, totals, calls and read models (read-only)")
    p.set_defaults(func=store_command(verify))


def stream(client, args) -> int:
    stub = client.stub(audit_pb2_grpc.AuditServiceStub)
    request = audit_pb2.StreamEventsRequest(from_position=args.start, follow=args.follow)
    for event in stub.StreamEvents(request, metadata=client.metadata,
                                   timeout=client.timeout if client.explicit_timeout else None):
        print(json.dumps(to_dict(event), ensure_ascii=False, separators=(",", ":")), flush=True)
    return 0


def verify(app, args) -> int:
    from service.audit.verify import verify as run
    with progress_bar("events") as update:
        report = run(app, lambda phase, done, total: update(done, total, phase))
    summary = {"events": report.events, "invoices": report.invoices, "resellers": report.resellers,
               "calls": report.calls, "problems": report.problems, "notes": report.notes, "clean": report.clean}
    if wants_json(args):
        print_json(summary)
    else:
        print(f"checked {report.events} events, {report.invoices} invoices, {report.resellers} resellers, "
              f"{report.calls} calls")
        for note in report.notes:
            print(f"note: {note}")
        for problem in report.problems:
            print(f"MISMATCH: {problem}")
        print("audit clean" if report.clean else f"audit FAILED: {len(report.problems)} problem(s)")
    return 0 if report.clean else AUDIT_FAILED
