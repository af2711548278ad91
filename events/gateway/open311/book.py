"""The reference data Open311 answers from: the services (the categories, 事项类别), the
departments that handle them and the grids with their boundaries, as in force on a day.

``ReferenceBook`` is the gateway's ``PlaceReader`` keeping more of the same log
(``fq.reference.events``, read from its start in a thread of its own): each definition is
kept by its effective date, and a question about a day reads the latest one in force then.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass
from datetime import date
from typing import Any

from events.gateway.open311.rules import Grid
from events.gateway.places import PlaceReader
from events.models import (
    CategoryDefined,
    DepartmentDefined,
    Event,
    PlaceDefined,
    PlaceLevel,
    PlaceRetired,
)

__all__ = ["ReferenceBook", "Service"]


@dataclass(frozen=True)
class Service:
    """A service of Open311: a category and the department that handles it by default."""

    code: str
    name: str
    department_code: str
    department_name: str | None


def _in_force(versions: list[tuple[date, int, Any]], day: date) -> Any:
    found = [v for v in versions if v[0] <= day]
    return found[-1][2] if found else None


class ReferenceBook(PlaceReader):
    """Categories, departments and grids of one reference topic, kept current."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # code -> [(effective_from, order, definition or None when retired)]
        self._categories: dict[str, list[tuple[date, int, Any]]] = {}
        self._departments: dict[str, list[tuple[date, int, Any]]] = {}
        self._grids: dict[str, list[tuple[date, int, Any]]] = {}
        self._names: dict[str, list[tuple[date, int, Any]]] = {}
        self._grid_cache: tuple[date, int, tuple[Grid, ...]] | None = None
        self._taken = 0

    def take(self, event: Event, order: int) -> None:
        super().take(event, order)
        kept: tuple[dict[str, list[tuple[date, int, Any]]], str, Any, date] | None = None
        if isinstance(event, CategoryDefined):
            kept = (self._categories, event.code, event, event.effective_from)
        elif isinstance(event, DepartmentDefined):
            kept = (self._departments, event.code, event, event.effective_from)
        elif isinstance(event, PlaceDefined):
            with self._lock:
                insort(self._names.setdefault(event.code, []), (event.effective_from, order, event))
            if event.level == PlaceLevel.grid:
                ring = tuple((p.lon, p.lat) for p in event.boundary or ())
                kept = (self._grids, event.code, ring or None, event.effective_from)
        elif isinstance(event, PlaceRetired) and event.code in self._grids:
            kept = (self._grids, event.code, None, event.effective_from)
        if kept is None:
            return
        table, code, value, since = kept
        with self._lock:
            insort(table.setdefault(code, []), (since, order, value))
            self._taken += 1

    def services(self, day: date) -> list[Service]:
        """Every category in force on ``day``, by code."""
        with self._lock:
            found = [_in_force(v, day) for v in self._categories.values()]
            return sorted(
                (self._service(c, day) for c in found if c is not None), key=lambda s: s.code
            )

    def service(self, code: str, day: date) -> Service | None:
        with self._lock:
            category = _in_force(self._categories.get(code, []), day)
            return None if category is None else self._service(category, day)

    def _service(self, category: CategoryDefined, day: date) -> Service:
        department = _in_force(self._departments.get(category.default_department_code, []), day)
        name = None if department is None else department.name
        return Service(category.code, category.name, category.default_department_code, name)

    def department_name(self, code: str, day: date) -> str | None:
        with self._lock:
            department = _in_force(self._departments.get(code, []), day)
            return None if department is None else str(department.name)

    def grids(self, day: date) -> tuple[Grid, ...]:
        """The grids in force on ``day`` that have a boundary (remembered until the log or
        the day moves)."""
        with self._lock:
            cache = self._grid_cache
            if cache is not None and cache[:2] == (day, self._taken):
                return cache[2]
            found = tuple(
                Grid(code, chain[-1] if chain else code, ring, chain)
                for code, versions in self._grids.items()
                if (ring := _in_force(versions, day)) is not None
                and (chain := self._chain(code, day)) is not None
            )
            self._grid_cache = (day, self._taken, found)
            return found

    def _chain(self, code: str, day: date) -> tuple[str, ...]:
        """The names of a place and its parents below the city, from the top (lock held)."""
        names: list[str] = []
        place: str | None = code
        for _ in range(8):  # a longer chain is a loop in the data
            defined = None if place is None else _in_force(self._names.get(place, []), day)
            if defined is None or defined.level == PlaceLevel.city:
                break
            names.append(defined.name)
            place = defined.parent_code
        return tuple(reversed(names))

    def grid_name(self, code: str, day: date) -> str | None:
        """A grid's full name (district, street, village and its own), as an address."""
        with self._lock:
            return "".join(self._chain(code, day)) or None
