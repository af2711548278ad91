"""The map panels' queries: the city's units as GeoJSON shapes, and the box around them.

A grid is drawn with its own boundary (the outer ring of its latest ``PlaceDefined``); a
village, street or district with the union of its grids' polygons (a ``MultiPolygon`` when
that union is not one piece), so the map always adds up to the grids the statistics count.
Units come from the ``units`` table (the definitions in force on the latest effective date).

The shapes of a whole projection are built once per process and kept per (schema, units
version): the version is the reference sequence ``units`` was rebuilt from, so a promoted
replay or a re-gridding is drawn from the next call on, and no request recomputes a union.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
import shapely
from psycopg import sql
from psycopg.rows import dict_row
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from projections.errors import ProjectionError
from projections.reading import Answer, freshness, snapshot

__all__ = ["MAP_LEVELS", "GridRow", "Map", "MapLevel", "Shapes", "bounds", "draw", "shapes"]

MapLevel = Literal["district", "street", "village", "grid"]
MAP_LEVELS: tuple[MapLevel, ...] = ("district", "street", "village", "grid")
_COLUMN = {
    "district": "district_code",
    "street": "street_code",
    "village": "village_code",
    "grid": "grid_id",
}
# Neighbours' shared edges rarely meet bit for bit: where one's corner lies on the other's edge
# (a T-junction), the plain union kept hairline slivers as holes and split a village in two.
# Each part is grown by this much (degrees, about 0.1 mm), united, and shrunk back, with
# mitred corners, which closes such gaps and leaves every real corner where it was.
_CLOSE = 1e-9
_KEEP = 4  # maps kept per process (a promoted replay beside the schema it replaces)

Box = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat
# A grid: its code, village, street and district codes, and its ring of [lon, lat] points.
GridRow = tuple[str, str | None, str | None, str | None, list[list[float]]]


@dataclass(frozen=True)
class Shapes(Answer):
    """The rows of ``shapes``; ``missing``: units of the level in scope left out because
    neither they nor any of their grids has a boundary."""

    missing: int = 0


@dataclass(frozen=True)
class Map:
    """The drawn units of one schema at one units version."""

    geometry: dict[tuple[str, str], dict[str, Any]]  # (level, code) → GeoJSON geometry
    boxes: dict[tuple[str, str], Box]
    city: Box | None  # around every grid drawn


_MAPS: dict[tuple[str, int], Map] = {}
_LOCK = threading.Lock()


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


def _geojson(geometry: BaseGeometry) -> dict[str, Any]:
    def lists(value: Any) -> Any:
        return [lists(v) for v in value] if isinstance(value, list | tuple) else value

    found = mapping(shapely.orient_polygons(geometry))  # outer rings counter-clockwise
    return {"type": found["type"], "coordinates": lists(found["coordinates"])}


def _union(parts: Iterable[BaseGeometry]) -> BaseGeometry:
    grown = shapely.buffer(list(parts), _CLOSE, join_style="mitre")
    return shapely.union_all(grown).buffer(-_CLOSE, join_style="mitre")


def _ring_geojson(ring: list[list[float]]) -> dict[str, Any]:
    """A grid's boundary as a GeoJSON Polygon: closed, counter-clockwise."""
    twice_area = sum(
        x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, [*ring[1:], ring[0]], strict=True)
    )
    outer = ring if twice_area > 0 else ring[::-1]
    return {"type": "Polygon", "coordinates": [[*outer, outer[0]]]}


def _build(conn: psycopg.Connection[Any]) -> Map:
    rows = conn.execute(
        "SELECT u.code, u.village_code, u.street_code, u.district_code, p.boundary "
        "FROM units u CROSS JOIN LATERAL (SELECT boundary FROM places p WHERE p.code = u.code "
        "ORDER BY p.effective_from DESC LIMIT 1) p "
        "WHERE u.level = 'grid' AND p.boundary IS NOT NULL"
    ).fetchall()
    return draw(rows)


def draw(rows: Sequence[GridRow]) -> Map:
    """Every grid's polygon and every village's, street's and district's union of them, from
    each grid's (code, village, street, district, ring); a pure function."""
    # one call of shapely for all the grids' polygons, however many corners each has
    corners = [point for row in rows for point in row[4]]
    ring_of = [i for i, row in enumerate(rows) for _ in row[4]]
    polygons = shapely.polygons(shapely.linearrings(corners, indices=ring_of)) if rows else []
    geometry = {("grid", row[0]): _ring_geojson(row[4]) for row in rows}
    shapes: dict[tuple[str, str], BaseGeometry] = {}
    children: dict[tuple[str, str], list[BaseGeometry]] = defaultdict(list)
    parent_of: dict[tuple[str, str], tuple[str, str]] = {}
    for (code, village, street, district, _), polygon in zip(rows, polygons, strict=True):
        shapes["grid", code] = polygon
        if village is not None:
            children["village", village].append(polygon)
        if street is not None and village is not None:
            parent_of["village", village] = ("street", street)
        if district is not None and street is not None:
            parent_of["street", street] = ("district", district)
    # Unions level by level, each from the one below: a district from its streets' unions.
    for level in ("village", "street", "district"):
        for key, parts in list(children.items()):
            if key[0] != level:
                continue
            shapes[key] = _union(parts)
            geometry[key] = _geojson(shapes[key])
            if key in parent_of:
                children[parent_of[key]].append(shapes[key])
    boxes = {key: shape.bounds for key, shape in shapes.items()}
    grid_boxes = [box for (level, _), box in boxes.items() if level == "grid"]
    city = (
        (
            min(b[0] for b in grid_boxes),
            min(b[1] for b in grid_boxes),
            max(b[2] for b in grid_boxes),
            max(b[3] for b in grid_boxes),
        )
        if grid_boxes
        else None
    )
    return Map(geometry, boxes, city)


def _map(conn: psycopg.Connection[Any], schema: str) -> Map | None:
    """The cached map of ``schema`` at its units version, built now if need be; ``None``
    before the projector has written any units."""
    row = conn.execute("SELECT reference_sequence FROM units_version").fetchone()
    if row is None:
        return None
    key = (schema, int(row[0]))
    with _LOCK:
        found = _MAPS.get(key)
        if found is None:
            found = _MAPS[key] = _build(conn)
            while len(_MAPS) > _KEEP:
                del _MAPS[next(iter(_MAPS))]
    return found


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

    The first call on a schema (and after each change of its reference data) builds the
    whole map; later calls only read ``units``.

    Raises:
        ProjectionError: an unknown level, or ``within`` below ``level``.
        UnknownProjection: the projection has no active schema yet.
    """
    _check(level, within)
    query: sql.Composable = sql.SQL("SELECT code, name, parent_code FROM units WHERE level = %s")
    params: list[str] = [level]
    if within is not None:
        query += sql.SQL(" AND {} = %s").format(sql.Identifier(_COLUMN[within[0]]))
        params.append(within[1])
    query += sql.SQL(" ORDER BY code")
    with snapshot(conn, projection) as schema:
        drawn = _map(conn, schema)
        with conn.cursor(row_factory=dict_row) as cur:
            units = cur.execute(query, params).fetchall()
        complete_to = freshness(conn, ["units"])
    geometry = {} if drawn is None else drawn.geometry
    rows = [
        {**unit, "geometry": geometry[level, unit["code"]]}
        for unit in units
        if (level, unit["code"]) in geometry
    ]
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
    with snapshot(conn, projection) as schema:
        drawn = _map(conn, schema)
        complete_to = freshness(conn, ["units"])
    box = None
    if drawn is not None:
        box = drawn.city if within is None else drawn.boxes.get(within)
    if box is None:
        return Answer([], complete_to, schema)
    return Answer([{"bounds": [[box[0], box[1]], [box[2], box[3]]]}], complete_to, schema)
