"""The units the dashboard can show, from the reference data: a pure function of the view.

One row per district, street, village and grid in force, per department and per worker with
a current assignment, all as defined on the latest effective date of the reference data (the
day from which every definition made so far applies). A place's row carries its chain of
parents, itself included; a worker's the chain of the grid they are assigned to, which is
also their ``parent_code``. Departments have no place in the tree: their chain is empty.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from domain.reference_view import ReferenceView
from events.models import PlaceLevel

__all__ = ["UNIT_LEVELS", "ShapeRow", "UnitRow", "Units", "build_units", "unit_rows"]

UNIT_LEVELS = ("district", "street", "village", "grid", "department", "worker")
_PLACE_LEVELS = {PlaceLevel.district, PlaceLevel.street, PlaceLevel.village, PlaceLevel.grid}


class UnitRow(NamedTuple):
    """A row of ``units``; the chain columns name the unit's places, itself included."""

    level: str
    code: str
    name: str
    parent_code: str | None
    district_code: str | None
    street_code: str | None
    village_code: str | None
    grid_id: str | None


class ShapeRow(NamedTuple):
    """A row of ``unit_shapes`` (``projections.unit_shapes`` draws them): a unit's GeoJSON
    geometry and its box; the city's row (level and code ``city``) has the box around every
    grid drawn and no geometry."""

    level: str
    code: str
    geometry: dict[str, Any] | None
    west: float
    south: float
    east: float
    north: float


class Units(NamedTuple):
    """Every unit row, the reference sequence they were built from (their version), and the
    shapes of those drawn."""

    reference_sequence: int
    rows: list[UnitRow]
    shapes: tuple[ShapeRow, ...] = ()


def _chained(
    level: str, code: str, name: str, parent: str | None, chain: dict[str, str]
) -> UnitRow:
    return UnitRow(
        level,
        code,
        name,
        parent,
        chain.get("district"),
        chain.get("street"),
        chain.get("village"),
        chain.get("grid"),
    )


def unit_rows(ref: ReferenceView) -> list[UnitRow]:
    """Every unit in force on ``ref.latest_effective_date()``, sorted by (level, code)."""
    day = ref.latest_effective_date()
    if day is None:
        return []
    rows = []
    for code in ref.place_codes():
        place = ref.place(code, day)
        if place is not None and place.level in _PLACE_LEVELS:
            chain = ref.parent_chain(code, day)
            rows.append(_chained(str(place.level), code, place.name, place.parent_code, chain))
    for code in ref.department_codes():
        name = ref.department_name(code, day)
        if name is not None:
            rows.append(UnitRow("department", code, name, None, None, None, None, None))
    for worker in ref.worker_ids():
        grid = ref.worker_grid(worker, day)
        if grid is not None:
            rows.append(_chained("worker", worker, worker, grid, ref.parent_chain(grid, day)))
    rows.sort(key=lambda r: (r.level, r.code))
    return rows


def build_units(ref: ReferenceView) -> Units:
    """``unit_rows(ref)`` with the sequence of the last reference event ``ref`` applied."""
    return Units(ref.sequence, unit_rows(ref))
