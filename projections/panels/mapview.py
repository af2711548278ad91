"""The map (地图): the units of one level inside a unit, drawn from their own shapes
(``geography.shapes``) and coloured by a KPI over a period, with the period's cases as points.

A level's map is only sent where it stays small: grids within a district, a street or a
village (a district has about a thousand), never the whole city's 12,216 at once.
"""

from __future__ import annotations

from typing import Any

import psycopg

from domain.stats_moves import METRICS
from projections.panels import geography
from projections.panels.kpis import Kpi
from projections.panels.overview import NOW_COLUMNS
from projections.panels.periods import Period
from projections.panels.scope import CHAIN_COLUMN, PLACE_LEVELS, Scope, Unit, child_level
from projections.panels.sources import STATS_TABLES, period_source, scope_clause
from projections.reading import Answer, answer

__all__ = [
    "MAP_LEVELS",
    "MAX_POINTS",
    "MapError",
    "case_points",
    "check_level",
    "drawable",
    "feature_collection",
    "level_for",
    "outlines",
    "units_in",
    "values",
]

MAP_LEVELS = ("district", "street", "village", "grid")
MAX_POINTS = 2000
# The smallest unit a level's map is sent for: grids only inside a district or below.
_GRIDS_FROM = "district"


class MapError(ValueError):
    """A map that is not drawn: a level above the unit, grids of the whole city, a
    department or a worker."""


def level_for(unit: Unit, level: str | None) -> str:
    """``level``, or by default the level below ``unit`` (a grid's own level under a grid),
    once ``check_level`` allows it.

    Raises:
        MapError: see ``check_level``.
    """
    if level is None:
        level = child_level(unit.level) or unit.level
    check_level(unit, level)
    return level


def drawable(unit: Unit, level: str) -> bool:
    """Whether a map of ``level`` inside ``unit`` is drawn (``check_level`` says why not)."""
    try:
        check_level(unit, level)
    except MapError:
        return False
    return True


def check_level(unit: Unit, level: str) -> None:
    """Refuse a map of ``level`` inside ``unit`` that cannot be drawn.

    Raises:
        MapError: the unit is not a place, the level is not below it, or it is the grids
            of the whole city.
    """
    if unit.level not in PLACE_LEVELS:
        raise MapError(f"a map is drawn inside a place; {unit.key} is a {unit.level}")
    if level not in MAP_LEVELS:
        raise MapError(f"map level {level!r} is not one of {', '.join(MAP_LEVELS)}")
    if PLACE_LEVELS.index(level) < PLACE_LEVELS.index(unit.level):
        raise MapError(f"no {level} lies within the {unit.level} {unit.code}")
    if level == "grid" and unit.level == "city":
        raise MapError(
            f"the grids are drawn within a {_GRIDS_FROM}, street or village: "
            "choose one (the whole city's 12,216 grids are too many to send)"
        )


def _within(unit: Unit) -> tuple[geography.MapLevel, str] | None:
    if unit.level == "city":
        return None
    return (unit.level, unit.code)  # type: ignore[return-value]


def outlines(
    conn: psycopg.Connection[Any], projection: str, scope: Scope, unit: Unit, level: str
) -> geography.Shapes:
    """The shapes of ``level``'s units inside ``unit`` (``geography.shapes``), within scope.

    Raises:
        MapError: see ``check_level``.
    """
    check_level(unit, level)
    found = geography.shapes(conn, projection, level, _within(unit))  # type: ignore[arg-type]
    if scope.place is None:
        return found
    allowed = _allowed(conn, projection, scope, unit, level)
    rows = [r for r in found.rows if r["code"] in allowed]
    return geography.Shapes(rows, found.complete_to, found.schema, missing=found.missing)


def _allowed(
    conn: psycopg.Connection[Any], projection: str, scope: Scope, unit: Unit, level: str
) -> set[str]:
    where, params = units_in(unit, level, scope)
    got = answer(conn, projection, (), f"SELECT u.code FROM units u WHERE {where}", params)
    return {r["code"] for r in got.rows}


def units_in(unit: Unit, level: str, scope: Scope) -> tuple[str, dict[str, Any]]:
    """SQL (over alias ``u`` of ``units``) keeping the units of ``level`` inside the place
    ``unit`` that the viewer may see; ``level`` is one of the fixed levels, never a value."""
    where = f"u.level = '{level}'"
    params: dict[str, Any] = {}
    if unit.level != "city":
        where += f" AND u.{CHAIN_COLUMN[unit.level]} = %(unit_code)s"
        params["unit_code"] = unit.code
    clause, scope_params = scope_clause(scope, "u")
    return f"{where} AND {clause}", {**params, **scope_params}


def values(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    period: Period,
    level: str,
    k: Kpi,
) -> Answer:
    """Each unit of ``level`` inside ``unit``: its code, name and the value of ``k`` over
    ``period`` (open and overdue: now), the same numbers the overview shows for it.

    Raises:
        MapError: see ``check_level``.
    """
    check_level(unit, level)
    members, params = units_in(unit, level, scope)
    if k.kind == "now":
        source = "unit_now s ON s.level = u.level AND s.code = u.code"
        tables: tuple[str, ...] = ("cases", "deadlines")
        metrics: tuple[str, ...] = NOW_COLUMNS
    else:
        src = period_source(period)
        source = (
            f"{src.table} s ON s.level = u.level AND s.code = u.code AND s.{src.column} = %(key)s"
        )
        params["key"] = src.keys[0]
        tables, metrics = tuple(STATS_TABLES), METRICS
    needed = [m for m in (k.numerator, k.denominator) if m is not None and m in metrics]
    sums = ", ".join(f"sum(s.{m})::bigint AS {m}" for m in needed)
    query = (
        f"SELECT u.code, u.name, {sums} FROM units u LEFT JOIN {source} "
        f"WHERE {members} GROUP BY u.code, u.name ORDER BY u.code"
    )
    found = answer(conn, projection, tables, query, params)
    rows = [
        {
            "code": row["code"],
            "name": row["name"],
            # a unit without counters has counted nothing: the overview's rule for it
            "value": k.of(row if row.get(k.numerator) is not None else None),
        }
        for row in found.rows
    ]
    return Answer(rows, found.complete_to, found.schema)


def case_points(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    period: Period,
    cap: int = MAX_POINTS,
) -> Answer:
    """The cases reported inside ``unit`` in ``period`` where their location is known, the
    latest ``cap`` of them: case id, title, status, grid, reported at, lon, lat; every row
    carries ``total``, how many the period has with a location.

    Raises:
        MapError: ``unit`` is not a place.
    """
    if unit.level not in PLACE_LEVELS:
        raise MapError(f"cases are drawn inside a place; {unit.key} is a {unit.level}")
    where = "TRUE"
    params: dict[str, Any] = {
        "start": period.start,
        "end": period.end,
        "cap": min(cap, MAX_POINTS),
    }
    if unit.level != "city":
        where = f"c.{CHAIN_COLUMN[unit.level]} = %(unit_code)s"
        params["unit_code"] = unit.code
    if scope.place is not None:
        where += f" AND c.{CHAIN_COLUMN[scope.place.level]} = %(scope_place)s"
        params["scope_place"] = scope.place.code
    # The unit's cases first, then their locations by key: joined the other way round the
    # planner reads every location in the city to find a street's few hundred.
    query = (
        "WITH c AS MATERIALIZED (SELECT c.case_id, c.title, c.status, c.grid_id, c.reported_at "
        "FROM cases c WHERE c.reported_at >= %(start)s::timestamp AT TIME ZONE 'Asia/Shanghai' "
        f"AND c.reported_at < %(end)s::timestamp AT TIME ZONE 'Asia/Shanghai' AND {where}) "
        "SELECT c.*, l.lon, l.lat, count(*) OVER () AS total "
        "FROM c JOIN case_locations l USING (case_id) "
        "ORDER BY c.reported_at DESC, c.case_id LIMIT %(cap)s"
    )
    return answer(conn, projection, ("cases",), query, params)


def feature_collection(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``outlines``' rows as a GeoJSON FeatureCollection, each feature named by its code (the
    key the map's values are joined on) with its Chinese name as ``label``."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": r["code"], "label": r["name"]},
                "geometry": r["geometry"],
            }
            for r in rows
        ],
    }
