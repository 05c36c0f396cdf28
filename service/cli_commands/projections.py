"""`billing projections rebuild|status` — on the store directly; the server keeps serving meanwhile."""
from service.cli_commands.common import print_json, print_table, wants_json
from service.cli_commands.store import database_options, progress_bar, store_command

NAME = "projections"


def register(sub, common) -> None:
    group = sub.add_parser(NAME, help="the read models (invoice list, search index)")
    cmds = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    store = database_options()
    p = cmds.add_parser("rebuild", parents=[store], help="rebuild every read model from the events, then swap "
                                                         "atomically (a running server keeps serving)")
    p.set_defaults(func=store_command(rebuild))
    p = cmds.add_parser("status", parents=[store], help="applied position vs the log's head, per read model")
    p.set_defaults(func=store_command(status))


def rebuild(app, args) -> int:
    from projections.rebuild import rebuild as run
    with progress_bar("events") as update:
        result = run(app, progress=update)
    rate = result.events / result.seconds if result.seconds else 0
    if wants_json(args):
        print_json({"generation": result.generation, "position": result.position, "events": result.events,
                    "invoice_events": result.invoice_events, "seconds": round(result.seconds, 3)})
    else:
        print(f"rebuilt generation {result.generation} at position {result.position}: "
              f"{result.events} events ({result.invoice_events} invoice events applied) in {result.seconds:.1f} s "
              f"({rate:,.0f} events/s)")
    return 0


def status(app, args) -> int:
    from projections import tracking
    from projections.rebuild import status as read
    tracking.setup(app.backend, tracking.default_models(app.backend.postgres))
    state, head = read(app)
    rows = [{"name": name, "generation": g, "position": p, "head": head, "behind": head - p}
            for name, (g, p) in sorted(state.items())]
    if wants_json(args):
        print_json({"projections": rows})
    else:
        print_table(["Projection", "Generation", "Applied", "Head", "Behind"],
                    [[r["name"], r["generation"], r["position"], r["head"], r["behind"]] for r in rows],
                    right=("Generation", "Applied", "Head", "Behind"))
    return 0
