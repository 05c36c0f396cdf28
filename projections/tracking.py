"""The tracking rows: per read model, the live table generation and the last position applied,
and the shape (table/document version) the live generation was built with."""
from projections.credit_note_list import CreditNoteList
from projections.invoice_list import InvoiceList
from projections.invoice_search import invoice_search
from projections.model import ReadModel

DDL = """CREATE TABLE IF NOT EXISTS billing_projections (
    name TEXT PRIMARY KEY,
    generation BIGINT NOT NULL,
    position BIGINT NOT NULL)"""
SHAPES_DDL = """CREATE TABLE IF NOT EXISTS billing_projection_shapes (
    name TEXT PRIMARY KEY,
    shape TEXT NOT NULL)"""
FIRST_RELEASE_SHAPE = "1"  # stores written before shapes were recorded
SETUP_LOCK = (7003, 0)  # PostgreSQL advisory lock: servers starting together create tables once

State = dict[str, tuple[int, int]]  # name -> (generation, position)


def default_models(postgres: bool) -> list[ReadModel]:
    return [InvoiceList(), invoice_search(postgres), CreditNoteList()]


def setup(backend, models: list[ReadModel]) -> tuple[State, list[str]]:
    """Create the tracking tables, the missing tracking rows and the live generation's tables;
    returns the state and the names of the models whose live tables have another shape (those
    need a rebuild before they can be applied to)."""
    with backend.transaction() as sql:
        if backend.postgres:
            sql.execute("SELECT pg_advisory_xact_lock(?, ?)", SETUP_LOCK)
        sql.execute(DDL)
        sql.execute(SHAPES_DDL)
        known = {name for (name,) in sql.execute("SELECT name FROM billing_projections").fetchall()}
        for m in models:
            if m.name not in known:  # new here: built in the current shape from position 0
                sql.execute("INSERT INTO billing_projections (name, generation, position) VALUES (?, 1, 0)", (m.name,))
                sql.execute("INSERT INTO billing_projection_shapes (name, shape) VALUES (?, ?) "
                            "ON CONFLICT (name) DO UPDATE SET shape = excluded.shape", (m.name, m.shape))
        stale = stale_models(sql, models)
        state = read_state(sql, models)
        for m in models:
            if m.name not in stale:
                m.create(sql, state[m.name][0])
    return state, stale


def stale_models(sql, models: list[ReadModel]) -> list[str]:
    """The models whose live tables have another shape than this code's (read-only)."""
    try:
        shapes = dict(sql.execute("SELECT name, shape FROM billing_projection_shapes").fetchall())
    except Exception:  # noqa: BLE001 - a store no Part II server has run on yet
        shapes = {}
    return [m.name for m in models if shapes.get(m.name, FIRST_RELEASE_SHAPE) != m.shape]


def record_shapes(sql, models: list[ReadModel]) -> None:
    """The live generation of every model now has the current shape (called in a rebuild's swap)."""
    for m in models:
        sql.execute("INSERT INTO billing_projection_shapes (name, shape) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET shape = excluded.shape", (m.name, m.shape))


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
