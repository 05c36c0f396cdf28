"""`billing projections status|rebuild` — over the API (ProjectionService); the server keeps serving."""
from billing.v1 import projection_pb2, projection_pb2_grpc
from service.cli_commands.common import client_command, print_json, print_table, progress_bar, to_dict, wants_json

NAME = "projections"


def register(sub, common) -> None:
    group = sub.add_parser(NAME, help="the read models (invoice list, search index)")
    cmds = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = cmds.add_parser("rebuild", parents=[common], help="rebuild every read model from the events, then swap "
                                                          "atomically (the server keeps serving)")
    p.set_defaults(func=client_command(rebuild))
    p = cmds.add_parser("status", parents=[common], help="applied position, lag and generation per read model")
    p.set_defaults(func=client_command(status))


def stub(client) -> projection_pb2_grpc.ProjectionServiceStub:
    return client.stub(projection_pb2_grpc.ProjectionServiceStub)


def rebuild(client, args) -> int:
    last = None
    stream = stub(client).RebuildProjections(projection_pb2.RebuildProjectionsRequest(), metadata=client.metadata,
                                             timeout=client.timeout if client.explicit_timeout else None)
    with progress_bar("events") as update:
        for last in stream:
            update(last.events_applied, last.events_total)
    state = client.call(stub(client).GetProjectionStatus, projection_pb2.GetProjectionStatusRequest())
    generation = max((p.generation for p in state.projections), default=0)
    position = last.events_applied if last else 0
    if wants_json(args):
        print_json({"generation": generation, "position": position})
    else:
        print(f"rebuilt generation {generation} at position {position}")
    return 0


def status(client, args) -> int:
    answer = client.call(stub(client).GetProjectionStatus, projection_pb2.GetProjectionStatusRequest())
    if wants_json(args):
        print_json({"projections": [to_dict(p) for p in answer.projections]})
    else:
        print_table(["Projection", "Generation", "Applied", "Behind"],
                    [[p.name, p.generation, p.position, p.lag_events] for p in answer.projections],
                    right=("Generation", "Applied", "Behind"))
    return 0
