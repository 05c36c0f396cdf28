"""The tracking rows: per read model, the live table generation and the last position applied."""
from projections.invoice_list import InvoiceList
from projections.invoice_search import invoice_search
from projections.model import ReadModel

DDL = """CREATE TABLE IF NOT EXISTS billing_projections (
    name TEXT PRIMARY KEY,
    generation BIGINT NOT NULL,
    position BIGINT NOT NULL)"""
SETUP_LOCK = (7003, 0)  # PostgreSQL advisory lock: servers starting together create tables once

State = dict[str, tuple[int, int]]  # name -> (generation, position)


def default_models(postgres: bool) -> list[ReadModel]:
    return [InvoiceList(), invoice_search(postgres)]


def setup(backend, models: list[ReadModel]) -> State:
    """Create the tracking table, the missing tracking rows and the live generation's tables."""
    with backend.transaction() as sql:
        if backend.postgres:
            sql.execute("SELECT pg_advisory_xact_lock(?, ?)", SETUP_LOCK)
        sql.execute(DDL)
        for m in models:
            sql.execute("INSERT INTO billing_projections (name, generation, position) VALUES (?, 1, 0) "
                        "ON CONFLICT (name) DO NOTHING", (m.name,))
        state = read_state(sql, models)
        for m in models:
            m.create(sql, state[m.name][0])
    return state


def read_state(sql, models: list[ReadModel]) -> State:
    rows = sql.execute("SELECT name, generation, position FROM billing_projections").fetchall()
    found = {name: (int(g), int(p)) for name, g, p in rows}
    return {m.name: found[m.name] for m in models if m.name in found}


def lock_state(sql, models: list[ReadModel]) -> State:
    """Read the tracking rows and hold them until the transaction ends (writers queue here)."""
    if sql.postgres:
        sql.execute("SELECT name FROM billing_projections ORDER BY name FOR UPDATE")
    else:  # a write first: SQLite's write lock is taken now, not at the first later write
        sql.execute("UPDATE billing_projections SET position = position")
    return read_state(sql, models)


def set_state(sql, name: str, generation: int, position: int) -> None:
    sql.execute("UPDATE billing_projections SET generation = ?, position = ? WHERE name = ?",
                (generation, position, name))


def generation(sql, name: str) -> int:
    rows = sql.execute("SELECT generation FROM billing_projections WHERE name = ?", (name,)).fetchall()
    if not rows:
        raise LookupError(f"projection {name} is not set up")
    return int(rows[0][0])
