"""排名: the units of one level within a unit (the streets of a district, the grids of a street,
the city's departments, a street's workers) ranked by a KPI over a period. A unit whose rate
rests on a sample below the minimum is listed with its value and n but no rank, so a grid with
two cases cannot top the table; a count is ranked whatever its size (a small count is exact,
not a noisy estimate). Read from the period's rollup; one page of rows at a time, with the
total, so a whole city's workers (~40,000) are never sent at once."""

from __future__ import annotations

from typing import Any

import psycopg

from domain.stats_moves import METRICS
from projections.panels.kpis import Kpi
from projections.panels.paging import PAGE, page_params
from projections.panels.periods import Period
from projections.panels.ranks import (
    DEFAULT_MIN_SAMPLE,
    check_level,
    parent_level,
    sample_counter,
)
from projections.panels.scope import CHAIN_COLUMN, Scope, Unit
from projections.panels.sources import STATS_TABLES, period_source, scope_clause
from projections.reading import Answer, answer

__all__ = ["ranking"]


def _counter(name: str) -> str:
    if name not in METRICS:  # names reach the SQL text: only the declared counters may
        raise ValueError(f"{name!r} is not a counter of the rollups")
    return name


def ranking(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    period: Period,
    k: Kpi,
    level: str,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    limit: int = 50,
    offset: int = 0,
) -> Answer:
    """The units of ``level`` within ``unit`` ranked by ``k`` over ``period``: ranked units
    first by rank (ties share a rank and are listed by code), then those without a value or,
    for a rate or a mean, with a sample below ``min_sample``; each row with ``rank`` (none when
    unranked), ``code``, ``name``, ``parent`` and ``parent_name`` (the unit one level up: a
    grid's village, a worker's grid), ``value``, ``n`` and ``ranked``; ``limit`` rows from
    ``offset``. Every row carries ``total`` (units listed) and ``ranked_total`` (units ranked).

    Raises:
        LevelError: ``level`` cannot be ranked within ``unit``.
        ValueError: ``k`` is not a period KPI (在办 and 超期 are counted now, not ranked).
    """
    checked = check_level(unit, level)
    if k.kind == "now":
        raise ValueError(f"KPI {k.name} is counted now, not over a period")
    src = period_source(period)
    num, n = _counter(k.numerator), _counter(sample_counter(k))
    den = _counter(k.denominator) if k.denominator else None
    value = (
        f"coalesce(s.{num}, 0)::float"
        if den is None
        else f"s.{num}::float / NULLIF(s.{den}, 0) * %(scale)s"
    )
    within = "TRUE"
    if unit.level != "city":
        within = f"r.{CHAIN_COLUMN[unit.level]} = %(unit_code)s"
    in_scope, params = scope_clause(scope, "r")
    order = "ASC" if k.lower_is_better else "DESC"
    # Rank narrow rows (code, value, n) and name only the page's: a whole city's ~40,000
    # workers sort in memory, and only `limit` rows are joined to their names.
    best = f"ranked DESC, value {order} NULLS LAST"
    query = (
        f"WITH v AS (SELECT r.code, {value} AS value, coalesce(s.{n}, 0)::bigint AS n "
        f"FROM units r LEFT JOIN {src.table} s "
        f"ON s.level = r.level AND s.code = r.code AND s.{src.column} = %(key)s "
        f"WHERE r.level = %(level)s AND {within} AND {in_scope}), "
        "w AS (SELECT *, value IS NOT NULL AND (n >= %(min)s OR NOT %(gated)s) AS ranked FROM v), "
        "o AS (SELECT *, count(*) OVER () AS total, "
        "count(*) FILTER (WHERE ranked) OVER () AS ranked_total, "
        f"rank() OVER (ORDER BY {best}) AS place FROM w "
        f"ORDER BY {best}, code {PAGE}) "
        "SELECT o.total, o.ranked_total, CASE WHEN o.ranked THEN o.place END AS rank, o.code, "
        "r.name, r.parent_code AS parent, up.name AS parent_name, o.value, o.n, o.ranked "
        "FROM o JOIN units r ON r.level = %(level)s AND r.code = o.code "
        "LEFT JOIN units up ON up.level = %(parent_level)s AND up.code = r.parent_code "
        f"ORDER BY {best}, o.code"
    )
    params.update(
        key=src.keys[0],
        level=checked,
        unit_code=unit.code,
        scale=k.scale,
        min=min_sample,
        gated=k.denominator is not None,
        parent_level=parent_level(checked),
        **page_params(limit, offset),
    )
    return answer(conn, projection, STATS_TABLES, query, params)
