"""The rollups' SQL: a batch's day rows and resolutions summed into their months and quarters
(``stats_period``, ``handling_hist``) by PostgreSQL as the batch is written, in its
transaction, so no row of them is built in Python; and, for a schema made before the rollups
existed, every rollup filled once from the facts it rolls up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from domain.case_state import OPEN_STATUSES
from projections.handling_hist import BUCKET_SQL, EDGES, RESOLUTION_UNITS
from projections.now_fold import NOW_COLUMNS, STATUS_COLUMNS
from projections.periods import DAY_SQL, MONTH_SQL, QUARTER_SQL
from projections.tables import READ_MODELS, Table

__all__ = [
    "ROLLUPS",
    "add_grid_visits",
    "add_histogram",
    "add_periods",
    "fill",
    "insert_select",
]

ROLLUPS = ("stats_period", "unit_now", "handling_hist", "grid_visits")


def insert_select(
    conn: psycopg.Connection[Any],
    table: Table,
    select: sql.Composable,
    params: dict[str, Any] | None = None,
) -> None:
    """INSERT the rows of ``select`` (the table's columns, in order) in key order: on a key
    already there, replace the row (``upsert``) or add to its counters (``add``)."""
    others = [c for c in table.column_names if c not in table.key]
    key = sql.SQL(", ").join(map(sql.Identifier, table.key))
    if table.mode == "add":
        sets = [
            sql.SQL("{0} = {1}.{0} + EXCLUDED.{0}").format(
                sql.Identifier(c), sql.Identifier(table.name)
            )
            for c in others
        ]
    else:
        sets = [sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in others]
    conn.execute(
        sql.SQL(
            "INSERT INTO {} SELECT * FROM ({}) s ORDER BY {} ON CONFLICT ({}) DO UPDATE SET {}"
        ).format(sql.Identifier(table.name), select, key, key, sql.SQL(", ").join(sets)),
        params,
    )


_PERIODS = sql.SQL(  # each day row twice: for its month and for its quarter
    "CROSS JOIN LATERAL (VALUES ({}), ({})) p(period)".format(
        MONTH_SQL.format("day"), QUARTER_SQL.format("day")
    )
)


def add_periods(conn: psycopg.Connection[Any], days: str) -> None:
    """Add the day rows of table ``days`` (shaped as ``stats_daily``) to ``stats_period``."""
    table = READ_MODELS["stats_period"]
    sums = sql.SQL(", ").join(
        sql.SQL("sum({0})::bigint AS {0}").format(sql.Identifier(c)) for c in table.column_names[3:]
    )
    select = sql.SQL("SELECT level, code, p.period, {} FROM {} {} GROUP BY 1, 2, 3")
    insert_select(conn, table, select.format(sums, sql.Identifier(days), _PERIODS))


def add_histogram(conn: psycopg.Connection[Any], resolutions: str, sign: int = 1) -> None:
    """Count the rows of table ``resolutions`` (shaped as ``resolutions``) in ``handling_hist``:
    per place and department, month and quarter, and handling-time bucket (PostgreSQL's
    ``width_bucket`` over ``handling_hist.EDGES``, the buckets of ``bucket_of``). ``sign``
    -1 takes them out again (resolutions a case's final one replaced)."""
    units = sql.SQL(", ").join(
        sql.SQL("({}, r.{})").format(sql.Literal(level), sql.Identifier(column))
        for level, column in RESOLUTION_UNITS.items()
    )
    select = sql.SQL(
        "SELECT u.level, u.code, p.period, "
        f"{BUCKET_SQL.format('r.handling_hours')}::int AS bucket, "
        "(%(sign)s * count(*))::bigint AS resolutions FROM {} r CROSS JOIN LATERAL (VALUES {}) u(level, code) {} "
        "WHERE u.code IS NOT NULL GROUP BY 1, 2, 3, 4"
    ).format(sql.Identifier(resolutions), units, _PERIODS)
    params = {"edges": list(EDGES), "sign": sign}
    insert_select(conn, READ_MODELS["handling_hist"], select, params)
    if sign < 0:  # no bucket left at zero: the rows are those the facts give, however batched
        conn.execute(
            sql.SQL(
                "DELETE FROM handling_hist h USING ({}) s WHERE h.resolutions = 0 AND "
                "(h.level, h.code, h.period, h.bucket) = (s.level, s.code, s.period, s.bucket)"
            ).format(select),
            params,
        )


_VISIT_PERIODS = (  # each visit row three times: for its day, its month and its quarter
    "CROSS JOIN LATERAL (VALUES ({}), ({}), ({})) p(period)".format(
        DAY_SQL.format("v.day"), MONTH_SQL.format("v.day"), QUARTER_SQL.format("v.day")
    )
)
_WORKING_DAY = "extract(isodow FROM v.day) <= 5"  # Monday to Friday (visiting.working_days)


def add_grid_visits(conn: psycopg.Connection[Any], visits: str) -> None:
    """Count the rows of table ``visits`` (shaped as ``visits``) in ``grid_visits``: per grid
    and day, month and quarter, the visits, households and last visit; the working days with
    a visit and the workers who visited, each counted the first time it is seen (in
    ``grid_visit_days`` and ``grid_visit_workers``), so the counts are the same however the
    log is cut into batches."""
    v = sql.Identifier(visits)
    conn.execute(
        sql.SQL(
            "INSERT INTO grid_visits SELECT v.grid_id, p.period, count(*), sum(v.households), "
            "0, 0, max(v.ended_at) FROM {} v " + _VISIT_PERIODS + " GROUP BY 1, 2 ORDER BY 1, 2 "
            "ON CONFLICT (grid_id, period) DO UPDATE SET "
            "visits = grid_visits.visits + EXCLUDED.visits, "
            "households = grid_visits.households + EXCLUDED.households, "
            "last_visit = GREATEST(grid_visits.last_visit, EXCLUDED.last_visit)"
        ).format(v)
    )
    conn.execute(
        sql.SQL(
            "WITH n AS (INSERT INTO grid_visit_days SELECT DISTINCT v.grid_id, v.day FROM {} v "
            f"WHERE {_WORKING_DAY} ORDER BY 1, 2 ON CONFLICT DO NOTHING RETURNING grid_id, day) "
            "INSERT INTO grid_visits SELECT v.grid_id, p.period, 0, 0, count(*), 0, NULL "
            "FROM n v " + _VISIT_PERIODS + " GROUP BY 1, 2 ORDER BY 1, 2 "
            "ON CONFLICT (grid_id, period) DO UPDATE SET working_days_visited = "
            "grid_visits.working_days_visited + EXCLUDED.working_days_visited"
        ).format(v)
    )
    conn.execute(
        sql.SQL(
            "WITH n AS (INSERT INTO grid_visit_workers SELECT DISTINCT v.grid_id, p.period, "
            "v.worker_id FROM {} v " + _VISIT_PERIODS + " ORDER BY 1, 2, 3 "
            "ON CONFLICT DO NOTHING RETURNING grid_id, period) "
            "INSERT INTO grid_visits SELECT grid_id, period, 0, 0, 0, count(*), NULL FROM n "
            "GROUP BY 1, 2 ORDER BY 1, 2 ON CONFLICT (grid_id, period) DO UPDATE SET "
            "workers = grid_visits.workers + EXCLUDED.workers"
        ).format(v)
    )


def fill(conn: psycopg.Connection[Any], rollups: Sequence[str]) -> None:
    """Fill the (empty) ``rollups`` from the schema's facts: ``stats_period`` from
    ``stats_daily``, ``handling_hist`` from ``resolutions``, ``grid_visits`` from ``visits``, ``unit_now`` from the cases and
    their deadlines (without the rows of zeros the projector leaves for units every case has
    left)."""
    if "stats_period" in rollups:
        add_periods(conn, "stats_daily")
    if "handling_hist" in rollups:
        add_histogram(conn, "resolutions")
    if "unit_now" in rollups:
        insert_select(conn, READ_MODELS["unit_now"], sql.SQL(_UNIT_NOW))
    if "grid_visits" in rollups:  # its record of what it counted once, counted again
        conn.execute("DELETE FROM grid_visit_days")
        conn.execute("DELETE FROM grid_visit_workers")
        add_grid_visits(conn, "visits")


_OPEN = "status IN ({})".format(", ".join(f"'{s}'" for s in sorted(OPEN_STATUSES)))
_OVERDUE = (
    "EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = c.case_id AND d.breached_at IS NOT NULL "
    "AND d.done_at IS NULL AND NOT d.cancelled)"
)
_COUNTS = {
    "open": f"count(*) FILTER (WHERE {_OPEN})",
    "overdue": f"count(*) FILTER (WHERE {_OPEN} AND {_OVERDUE})",
    **{column: f"count(*) FILTER (WHERE status = '{s}')" for s, column in STATUS_COLUMNS.items()},
}
_UNIT_NOW = (  # the cases where they stand now, as now_fold.standing places them
    "SELECT u.level, u.code, "
    + ", ".join(f"{_COUNTS[column]}::bigint AS {column}" for column in NOW_COLUMNS)
    + " FROM cases c CROSS JOIN LATERAL (VALUES ('district', district_code), "
    "('street', street_code), ('village', village_code), ('grid', grid_id), "
    "('department', department_code)) u(level, code) WHERE u.code IS NOT NULL GROUP BY 1, 2"
)
