"""What a credential may submit, as a pure rule: ``refusal(scope, event, district_of)``.

Three scopes, each a set of codes or ``"*"`` for any:
- event types: the event's type;
- departments: every department the event names (``department_code``, a transfer's
  ``from_department`` and ``to_department``, a category's ``default_department_code``, a
  department's own ``code``); an event that names none passes;
- districts: the district of the grid the event names (``grid_id`` of a report, a visit or an
  assignment; a place's own chain for ``PlaceDefined`` / ``PlaceRetired``), found in the place
  tree in force on the event's date. A case step after the report names no grid, so it passes
  here; the workflow, which knows each case's grid, can judge it against the system's
  ``SourceSystemDefined``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from events.models import CategoryDefined, DepartmentDefined, Event, PlaceDefined, PlaceRetired

__all__ = ["ANY", "Refusal", "Scope", "departments_named", "grid_named", "refusal"]

ANY = "*"
_DEPARTMENT_FIELDS = ("department_code", "from_department", "to_department")


@dataclass(frozen=True)
class Scope:
    """The event types, departments and districts a credential may submit for."""

    event_types: tuple[str, ...]
    departments: tuple[str, ...]
    districts: tuple[str, ...]

    @classmethod
    def of(
        cls, event_types: Iterable[str], departments: Iterable[str], districts: Iterable[str]
    ) -> Scope:
        return cls(tuple(event_types), tuple(departments), tuple(districts))


@dataclass(frozen=True)
class Refusal:
    """Which scope refused an event, and why, in English and Chinese."""

    scope: str  # event_types, departments or districts
    detail: str
    detail_zh: str


def _allows(allowed: tuple[str, ...], value: str) -> bool:
    return ANY in allowed or value in allowed


def departments_named(event: Event) -> tuple[str, ...]:
    """The department codes ``event`` names (a field left empty, as a refused hand-off
    ruling's ``department_code``, names none)."""
    # Looked up among the model's fields: a field a model lacks costs pydantic's __getattr__
    # an AttributeError raised and caught, more than the whole scope check otherwise.
    fields = type(event).model_fields
    named = [getattr(event, f) for f in _DEPARTMENT_FIELDS if f in fields]
    named = [code for code in named if code is not None]
    if isinstance(event, CategoryDefined):
        named.append(event.default_department_code)
    if isinstance(event, DepartmentDefined):
        named.append(event.code)
    return tuple(named)


def grid_named(event: Event) -> str | None:
    """The place whose district scopes ``event``: its grid, or the place it defines."""
    if isinstance(event, PlaceDefined | PlaceRetired):
        return event.code
    grid = getattr(event, "grid_id", None) if "grid_id" in type(event).model_fields else None
    return grid if isinstance(grid, str) else None


def refusal(
    scope: Scope, event: Event, day: date, district_of: Callable[[str, date], str | None]
) -> Refusal | None:
    """Why ``scope`` refuses ``event`` (on ``day``, its date in Asia/Shanghai), or ``None``.

    ``district_of(place, day)`` is the code of the district the place lies in on that day
    (the place itself when it is a district), ``None`` when it lies in none known.
    """
    kind = event.event_type
    if not _allows(scope.event_types, kind):
        return Refusal(
            "event_types",
            f"this credential may not submit {kind}; it may submit {', '.join(scope.event_types)}",
            f"此凭证无权提交 {kind}；可提交：{'、'.join(scope.event_types)}",
        )
    for code in () if ANY in scope.departments else departments_named(event):
        if code not in scope.departments:
            return Refusal(
                "departments",
                f"{kind} names department {code}, outside this credential's departments "
                f"({', '.join(scope.departments)})",
                f"{kind} 涉及部门 {code}，不在此凭证的部门范围（{'、'.join(scope.departments)}）内",
            )
    if ANY in scope.districts:
        return None
    place = grid_named(event)
    if place is None:
        return None
    district = district_of(place, day)
    if district is None or district not in scope.districts:
        where = "no known district" if district is None else f"district {district}"
        where_zh = "未知区县" if district is None else f"区县 {district}"
        return Refusal(
            "districts",
            f"{place} lies in {where} on {day}, outside this credential's districts "
            f"({', '.join(scope.districts)})",
            f"{place} 于 {day} 属于{where_zh}，不在此凭证的区县范围（{'、'.join(scope.districts)}）内",
        )
    return None
