"""The units' shapes, drawn once when the units change: a pure function of the grids'
boundaries, which the projector writes to ``unit_shapes`` in the batch that rebuilds ``units``.

A grid is drawn with its own boundary (the outer ring of its latest ``PlaceDefined``); a
village, street or district with the union of its grids' polygons (a ``MultiPolygon`` when
that union is not one piece), so the map always adds up to the grids the statistics count.
The same grids give the same shapes, bit for bit: live and replayed projections agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from domain.reference_view import ReferenceView
from projections.units import ShapeRow, UnitRow, Units

__all__ = ["Box", "GridRow", "Map", "draw", "grid_rings", "shape_rows", "with_shapes"]

# Neighbours' shared edges rarely meet bit for bit: where one's corner lies on the other's edge
# (a T-junction), the plain union kept hairline slivers as holes and split a village in two.
# Each part is grown by this much (degrees, about 0.1 mm), united, and shrunk back, with
# mitred corners, which closes such gaps and leaves every real corner where it was.
_CLOSE = 1e-9

Box = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat
# A grid: its code, village, street and district codes, and its ring of [lon, lat] points.
GridRow = tuple[str, str | None, str | None, str | None, list[list[float]]]


@dataclass(frozen=True)
class Map:
    """The drawn units."""

    geometry: dict[tuple[str, str], dict[str, Any]]  # (level, code) → GeoJSON geometry
    boxes: dict[tuple[str, str], Box]
    city: Box | None  # around every grid drawn


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


def grid_rings(ref: ReferenceView, units: Iterable[UnitRow]) -> list[GridRow]:
    """Each grid of ``units`` with the ring of its latest definition, in code order; grids
    whose latest definition has no boundary are left out (they are not drawn)."""
    rows: list[GridRow] = []
    for unit in sorted((u for u in units if u.level == "grid"), key=lambda u: u.code):
        history = ref.place_history(unit.code)
        ring = history[-1].boundary if history else None
        if ring is not None:
            rows.append(
                (
                    unit.code,
                    unit.village_code,
                    unit.street_code,
                    unit.district_code,
                    [list(point) for point in ring],
                )
            )
    return rows


def shape_rows(drawn: Map) -> list[ShapeRow]:
    """``drawn`` as the rows of ``unit_shapes``, in (level, code) order."""
    rows = [
        ShapeRow(level, code, geometry, *drawn.boxes[level, code])
        for (level, code), geometry in drawn.geometry.items()
    ]
    if drawn.city is not None:
        rows.append(ShapeRow("city", "city", None, *drawn.city))
    rows.sort(key=lambda r: (r.level, r.code))
    return rows


def with_shapes(units: Units, ref: ReferenceView) -> Units:
    """``units`` with the shapes of their grids, villages, streets and districts drawn."""
    return units._replace(shapes=tuple(shape_rows(draw(grid_rings(ref, units.rows)))))
