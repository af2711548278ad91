"""The map panels' queries: the city's units as GeoJSON shapes, and the box around them.

The shapes are drawn by the projector whenever the units change (``projections.unit_shapes``:
a grid by its own boundary, a village, street or district by the union of its grids) and
kept in ``unit_shapes`` with their boxes, in the transaction that rebuilds ``units``; a
request only reads them, so a promoted replay or a re-gridding is drawn from the next call on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from projections.errors import ProjectionError
from projections.reading import Answer, answer, freshness, snapshot
from projections.unit_shapes import GridRow, Map, draw

__all__ = ["MAP_LEVELS", "GridRow", "Map", "MapLevel", "Shapes", "bounds", "draw", "shapes"]

MapLevel = Literal["district", "street", "village", "grid"]
MAP_LEVELS: tuple[MapLevel, ...] = ("district", "street", "village", "grid")
_COLUMN = {
    "district": "district_code",
    "street": "street_code",
    "village": "village_code",
    "grid": "grid_id",
}


@dataclass(frozen=True)
class Shapes(Answer):
    """The rows of ``shapes``; ``missing``: units of the level in scope left out because
    neither they nor any of their grids has a boundary."""

    missing: int = 0


def _check(level: str, within: tuple[str, str] | None) -> None:
    if level not in MAP_LEVELS:
        raise ProjectionError(f"unknown map level {level!r}; known: {', '.join(MAP_LEVELS)}")
    if within is None:
        return
    if within[0] not in MAP_LEVELS:
        raise ProjectionError(
            f"unknown level {within[0]!r} of the place to look within; "
            f"known: {', '.join(MAP_LEVELS)}"
        )
    if MAP_LEVELS.index(within[0]) > MAP_LEVELS.index(level):
        raise ProjectionError(f"no {level} lies within a {within[0]}")


def shapes(
    conn: psycopg.Connection[Any],
    projection: str,
    level: MapLevel,
    within: tuple[MapLevel, str] | None = None,
) -> Shapes:
    """One row per unit of ``level`` (district, street, village or grid) inside ``within``
    (a ``(level, code)`` place; the whole city when ``None``), in code order: ``code``,
    ``name``, ``parent_code`` and ``geometry``, a GeoJSON Polygon or MultiPolygon (WGS-84,
    ``[lon, lat]`` positions, outer rings counter-clockwise). Units with no boundary are left
    out and counted in ``Shapes.missing``.

    The shapes are read as the projector drew them (``unit_shapes``).

    Raises:
        ProjectionError: an unknown level, or ``within`` below ``level``.
        UnknownProjection: the projection has no active schema yet.
    """
    _check(level, within)
    query: sql.Composable = sql.SQL(
        "SELECT u.code, u.name, u.parent_code, s.geometry FROM units u LEFT JOIN unit_shapes s "
        "ON s.level = u.level AND s.code = u.code WHERE u.level = %s"
    )
    params: list[str] = [level]
    if within is not None:
        query += sql.SQL(" AND u.{} = %s").format(sql.Identifier(_COLUMN[within[0]]))
        params.append(within[1])
    query += sql.SQL(" ORDER BY u.code")
    with snapshot(conn, projection) as schema:
        with conn.cursor(row_factory=dict_row) as cur:
            units = cur.execute(query, params).fetchall()
        complete_to = freshness(conn, ["units"])
    rows = [unit for unit in units if unit["geometry"] is not None]
    return Shapes(rows, complete_to, schema, missing=len(units) - len(rows))


def bounds(
    conn: psycopg.Connection[Any],
    projection: str,
    within: tuple[MapLevel, str] | None = None,
) -> Answer:
    """The box around the units drawn within ``within`` (the whole city when ``None``): one
    row ``{"bounds": [[min_lon, min_lat], [max_lon, max_lat]]}``, or no row when nothing in
    scope has a boundary.

    Raises:
        ProjectionError: ``within`` names an unknown level.
        UnknownProjection: the projection has no active schema yet.
    """
    _check("grid", within)
    level, code = within if within is not None else ("city", "city")
    found = answer(
        conn,
        projection,
        ("units",),
        "SELECT json_build_array(json_build_array(west, south), json_build_array(east, north)) "
        "AS bounds FROM unit_shapes WHERE level = %s AND code = %s",
        (level, code),
    )
    return found
