"""The projection's PostgreSQL side: create a projection schema, load what the folds need,
and write one batch's changes together with the positions they were read up to.

``write_batch`` is the effectively-once point: rows, counters and Kafka offsets go in one
transaction, so after a crash the projector resumes from exactly what was written. The month
and quarter rollups (``stats_period``, ``handling_hist``, ``grid_visits``) are summed there
too, by PostgreSQL, from the batch's day rows, resolutions and visits as they go in
(``projections.rollups``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import attrgetter
from typing import Any

import psycopg
import psycopg.errors
from psycopg import sql
from psycopg.types.json import Jsonb

from domain.case_fold import CaseRow
from domain.deadline_rows import DeadlineRow
from domain.reference_view import Place
from projections.batch import Changes, Position
from projections.errors import ProjectionStoreError
from projections.rollups import (
    ROLLUPS,
    add_city_words,
    add_grid_visits,
    add_histogram,
    add_periods,
    count_unit_sizes,
    fill,
    insert_select,
    place_locations,
)
from projections.tables import READ_MODELS, Table, ddl, index_ddl
from projections.units import Units

__all__ = [
    "DEADLOCK_ATTEMPTS",
    "connect",
    "create_indexes",
    "create_schema",
    "load_cases",
    "load_checkpoints",
    "load_visit_sequences",
    "retrying_deadlocks",
    "schema_columns",
    "schema_exists",
    "use_schema",
    "write_batch",
]

log = logging.getLogger("fengqiao.projector")
DEADLOCK_ATTEMPTS = 5


def connect(dsn: str) -> psycopg.Connection[Any]:
    """A connection; ``ProjectionStoreError`` (naming the DSN's host) when PostgreSQL is down."""
    try:
        return psycopg.connect(dsn, autocommit=False)
    except psycopg.OperationalError as exc:
        raise ProjectionStoreError(f"cannot connect to PostgreSQL: {exc}".strip()) from exc


def use_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    """Point this connection's unqualified names at ``schema``."""
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))


def schema_exists(conn: psycopg.Connection[Any], schema: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,)
    ).fetchone()
    return row is not None


def schema_columns(conn: psycopg.Connection[Any], schema: str) -> set[tuple[str, str]]:
    """(table, column) of every column the schema's tables have now (none for no schema)."""
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s",
        (schema,),
    ).fetchall()
    return {(table, column) for table, column in rows}


def create_schema(conn: psycopg.Connection[Any], schema: str, indexes: bool = True) -> None:
    """Create ``schema`` with every read-model table (idempotent) and commit; without the
    secondary indexes when ``indexes`` is false, for a replay, which bulk-loads and then
    calls ``create_indexes``: one index build is cheaper than keeping indexes up to date
    through millions of upserts. A schema made before the rollups gets them filled from its
    facts (``rollups.fill``), and its case locations their places (``rollups.place_locations``),
    in the same transaction."""
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    use_schema(conn, schema)
    columns = schema_columns(conn, schema)
    tables = {name for name, _ in columns}
    conn.execute(ddl(indexes))
    if "checkpoints" in tables:  # made before some rollup existed: filled from the facts
        fill(conn, [name for name in ROLLUPS if name not in tables])
    if "case_locations" in tables and ("case_locations", "reported_at") not in columns:
        place_locations(conn)
    conn.commit()


def create_indexes(conn: psycopg.Connection[Any], schema: str) -> None:
    """Build the secondary indexes ``schema`` lacks (none when it has them all) and commit."""
    use_schema(conn, schema)
    conn.execute(index_ddl())
    conn.commit()


def load_checkpoints(conn: psycopg.Connection[Any]) -> dict[tuple[str, int], Position]:
    rows = conn.execute(
        "SELECT topic, partition, next_offset, max_event_time, caught_up FROM checkpoints"
    ).fetchall()
    return {(t, p): Position(o, m, c) for t, p, o, m, c in rows}


def _rows(conn: psycopg.Connection[Any], table: Table, where: str, ids: Sequence[str]) -> list[Any]:
    cols = sql.SQL(", ").join(map(sql.Identifier, table.column_names))
    query = sql.SQL("SELECT {} FROM {} WHERE {} = ANY(%s)").format(
        cols, sql.Identifier(table.name), sql.Identifier(where)
    )
    return conn.execute(query, (list(ids),)).fetchall()


def load_cases(
    conn: psycopg.Connection[Any], case_ids: Sequence[str]
) -> tuple[dict[str, CaseRow], dict[str, tuple[DeadlineRow, ...]]]:
    """The stored rows and deadlines (in their original order) of these cases."""
    cases = {r[0]: CaseRow(*r) for r in _rows(conn, READ_MODELS["cases"], "case_id", case_ids)}
    deadlines: dict[str, list[DeadlineRow]] = {}
    for r in _rows(conn, READ_MODELS["deadlines"], "case_id", case_ids):
        d = DeadlineRow(*r)
        deadlines.setdefault(d.case_id, []).append(d)
    ordered = {
        k: tuple(sorted(v, key=lambda d: (d.started_at, d.deadline_id)))
        for k, v in deadlines.items()
    }
    return cases, ordered


def load_visit_sequences(conn: psycopg.Connection[Any]) -> dict[str, int]:
    return dict(conn.execute("SELECT grid_id, last_sequence FROM visit_streams").fetchall())


def _copy(
    conn: psycopg.Connection[Any],
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Sequence[Any]],
) -> None:
    """COPY ``rows`` into ``table``'s ``columns`` ((name, SQL type) pairs) in binary: no
    timestamps or numbers printed as text here and parsed again by PostgreSQL."""
    cols = sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns)
    with (
        conn.cursor() as cur,
        cur.copy(
            sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(sql.Identifier(table), cols)
        ) as copy,
    ):
        copy.set_types([kind for _, kind in columns])
        for row in rows:
            copy.write_row(row)


def _merge(conn: psycopg.Connection[Any], table: Table, rows: Iterable[Sequence[Any]]) -> None:
    """Upsert (replace) or add (sum counters) ``rows`` through a temporary table and COPY.

    Rows go in in key order (sorted by PostgreSQL, cheaper than in Python): replay workers
    adding to the same units' counters then take their row locks in one order, never waiting
    on each other in a cycle.
    """
    temp = _temp(conn, table)
    _copy(conn, temp, table.columns, rows)
    insert_select(conn, table, sql.SQL("SELECT * FROM {}").format(sql.Identifier(temp)))


def _temp(conn: psycopg.Connection[Any], table: Table, name: str | None = None) -> str:
    """The batch's temporary copy of ``table`` (emptied at commit), created if need be;
    ``tmp_<table>`` unless ``name`` is given."""
    temp = name or f"tmp_{table.name}"
    conn.execute(
        sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {}) ON COMMIT DELETE ROWS").format(
            sql.Identifier(temp), sql.Identifier(table.name)
        )
    )
    return temp


def _append_rolled_up(conn: psycopg.Connection[Any], name: str, rows: Sequence[Any]) -> str:
    """Append ``rows`` to table ``name`` through its temporary copy, whose name is returned:
    the batch's rows, for its rollups to count."""
    table = READ_MODELS[name]
    temp = _temp(conn, table)
    _copy(conn, temp, table.columns, rows)
    conn.execute(
        sql.SQL("INSERT INTO {} SELECT * FROM {}").format(
            sql.Identifier(name), sql.Identifier(temp)
        )
    )
    return temp


def _superseded(conn: psycopg.Connection[Any], case_ids: Iterable[str]) -> None:
    """Remove the stored resolutions of reworked cases resolved again, and take them out of
    ``handling_hist``: a case counts its final resolution only."""
    resolutions = READ_MODELS["resolutions"]
    temp = _temp(conn, resolutions, "tmp_superseded")
    conn.execute(
        sql.SQL(
            "WITH gone AS (DELETE FROM resolutions WHERE case_id = ANY(%s) RETURNING *) "
            "INSERT INTO {} SELECT * FROM gone"
        ).format(sql.Identifier(temp)),
        (sorted(case_ids),),
    )
    add_histogram(conn, temp, sign=-1)


def _as_tuples(table: str, rows: Iterable[Any]) -> Iterable[tuple[Any, ...]]:
    get = attrgetter(*READ_MODELS[table].column_names)
    return map(get, rows)


def _stats_rows(changes: Changes) -> Iterator[list[Any]]:
    for units in changes.stats_rows.values():
        yield from units.values()  # already in column order


def write_batch(
    conn: psycopg.Connection[Any],
    changes: Changes,
    places: Sequence[Place] = (),
    units: Units | None = None,
) -> None:
    """Write ``changes`` and the positions they reach in one transaction, then commit; with
    ``places`` (re)defined since the last batch upserted into ``places``, and ``units``, when
    given, replacing the whole ``units`` table, their shapes (``unit_shapes``) and their version.

    Raises:
        ProjectionStoreError: PostgreSQL refused; nothing of the batch was written.
    """

    def work() -> None:
        _write(conn, changes, places)
        if units is not None:
            _replace_units(conn, units)

    try:
        retrying_deadlocks(conn, work)
    except psycopg.Error as exc:
        raise ProjectionStoreError(f"writing a batch failed and was rolled back: {exc}") from exc


def retrying_deadlocks(
    conn: psycopg.Connection[Any], work: Callable[[], None], attempts: int = DEADLOCK_ATTEMPTS
) -> int:
    """Run ``work`` in one transaction, again from the start when PostgreSQL ends it as a
    deadlock's victim; the attempts it took.

    Replay workers sharing a schema add to the same counter rows (the city's, a district's),
    each batch in several statements: two batches can take the same rows in opposite orders,
    and no order of statements avoids that. The victim's transaction is rolled back whole, so
    doing it again is exactly what a later batch would have done.

    Raises:
        psycopg.errors.DeadlockDetected: still a victim after ``attempts``.
        psycopg.Error: any other refusal, at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            with conn.transaction():
                work()
            return attempt
        except psycopg.errors.DeadlockDetected:
            if attempt == attempts:
                raise
            log.warning("projection: a batch was a deadlock's victim; writing it again")
            time.sleep(0.05 * attempt)  # the winner is committing; let it
    raise AssertionError("unreachable")


def _write(conn: psycopg.Connection[Any], changes: Changes, places: Sequence[Place]) -> None:
    if changes.cases:
        _merge(conn, READ_MODELS["cases"], _as_tuples("cases", changes.cases.values()))
    if changes.deadlines:
        _merge(conn, READ_MODELS["deadlines"], _as_tuples("deadlines", changes.deadlines.values()))
    for name, rows in (
        ("case_timeline", changes.timeline),
        ("case_locations", changes.case_locations),
        ("notices", changes.notices),
        ("visit_tracks", changes.visit_tracks),
    ):
        if rows:  # named tuples: their fields are the columns, in order
            _copy(conn, name, READ_MODELS[name].columns, rows)
    if changes.superseded:
        _superseded(conn, changes.superseded)
    if changes.resolutions:
        add_histogram(conn, _append_rolled_up(conn, "resolutions", changes.resolutions))
    if changes.visits:
        add_grid_visits(conn, _append_rolled_up(conn, "visits", changes.visits))
    if changes.visit_sequences:
        _merge(conn, READ_MODELS["visit_streams"], changes.visit_sequences.items())
    if changes.stats_rows:
        _merge(conn, READ_MODELS["stats_daily"], _stats_rows(changes))
        add_periods(conn, "tmp_stats_daily")  # the batch's day rows, still there
    if changes.now_rows:
        _merge(conn, READ_MODELS["unit_now"], changes.now_rows.values())
    if changes.hot_words:
        words = [(*k, n) for k, n in changes.hot_words.items()]
        _merge(conn, READ_MODELS["hot_words"], words)
        add_city_words(conn, "tmp_hot_words")  # the batch's words, still there
    if changes.rejections:
        _keep_first(conn, READ_MODELS["rejections"], changes.rejections.values())
    if places:
        _upsert_places(conn, places)
    if changes.dead_letters:
        _copy(
            conn,
            "dead_letters",
            _DEAD_LETTER_COLUMNS,
            ((d.topic, d.partition, d.offset, d.reason, d.raw) for d in changes.dead_letters),
        )
    if changes.positions:
        _write_positions(conn, changes.positions)


_DEAD_LETTER_COLUMNS = (
    ("topic", "text"),
    ("partition", "integer"),
    ("offset", "bigint"),
    ("reason", "text"),
    ("raw", "bytea"),
)


def _keep_first(conn: psycopg.Connection[Any], table: Table, rows: Iterable[Sequence[Any]]) -> None:
    """Insert the rows whose key ``table`` does not hold yet (``first`` tables). Few rows a
    batch (refusals are rare), so no COPY through a temporary table."""
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO NOTHING").format(
        sql.Identifier(table.name),
        sql.SQL(", ").join(map(sql.Identifier, table.column_names)),
        sql.SQL(", ").join([sql.Placeholder()] * len(table.columns)),
        sql.SQL(", ").join(map(sql.Identifier, table.key)),
    )
    with conn.cursor() as cur:
        cur.executemany(query, list(rows))


def _ring(place: Place) -> Jsonb | None:
    return None if place.boundary is None else Jsonb([list(point) for point in place.boundary])


def _upsert_places(conn: psycopg.Connection[Any], places: Sequence[Place]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO places (code, effective_from, level, name, parent_code, retired, "
            "boundary) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (code, effective_from) DO UPDATE SET "
            "level = EXCLUDED.level, name = EXCLUDED.name, parent_code = EXCLUDED.parent_code, "
            "retired = EXCLUDED.retired, boundary = EXCLUDED.boundary",
            [
                (p.code, p.effective_from, str(p.level), p.name, p.parent_code, p.retired, _ring(p))
                for p in places
            ],
        )


def _replace_units(conn: psycopg.Connection[Any], units: Units) -> None:
    conn.execute("DELETE FROM units")
    _copy(conn, "units", READ_MODELS["units"].columns, units.rows)
    count_unit_sizes(conn)
    conn.execute("DELETE FROM unit_shapes")
    _copy(conn, "unit_shapes", READ_MODELS["unit_shapes"].columns, units.shapes)
    conn.execute(
        "INSERT INTO units_version (reference_sequence) VALUES (%s) ON CONFLICT (one) "
        "DO UPDATE SET reference_sequence = EXCLUDED.reference_sequence",
        (units.reference_sequence,),
    )


def _write_positions(
    conn: psycopg.Connection[Any], positions: dict[tuple[str, int], Position]
) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO checkpoints (topic, partition, next_offset, max_event_time, caught_up) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (topic, partition) DO UPDATE SET "
            "next_offset = EXCLUDED.next_offset, "
            "max_event_time = GREATEST(checkpoints.max_event_time, EXCLUDED.max_event_time), "
            "caught_up = EXCLUDED.caught_up",
            [
                (t, p, pos.next_offset, pos.max_event_time, pos.caught_up)
                for (t, p), pos in sorted(positions.items())
            ],
        )
