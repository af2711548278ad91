"""The checks of each reference-data definition against the view it is applied to (which
type has which check is its declaration in ``domain.meanings``): a place's parent in force on
its date and one level up, a retirement after the definition, an assignment to a grid in
force, a category's department and policy known, policy versions increasing and complete,
calendar and lexicon versions new, a system's departments and districts defined.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import product
from typing import Any

from domain.calendar import year_from_definition
from domain.decisions import Rejected
from domain.decisions import RejectionCode as Code
from domain.errors import InvalidCalendar
from domain.reference_view import LEVELS, ReferenceView
from events.models import (
    CalendarDefined,
    CategoryDefined,
    LexiconPublished,
    PlaceDefined,
    PlaceLevel,
    PlaceRetired,
    Priority,
    SlaPolicyDefined,
    SourceSystemDefined,
    Stage,
    WorkerAssigned,
)

__all__ = [
    "Check",
    "calendar_defined",
    "category_defined",
    "lexicon_published",
    "place_defined",
    "place_retired",
    "sla_policy_defined",
    "source_system_defined",
    "worker_assigned",
]

Check = Callable[[ReferenceView, Any], Rejected | None]
"""A reference definition's check: the view it would join and the definition -> refused or not."""


def place_defined(view: ReferenceView, event: PlaceDefined) -> Rejected | None:
    on, level = event.effective_from, LEVELS.index(event.level)
    name = f"place {event.code} ({event.level}) from {on}"
    if level == 0:
        if event.parent_code is None:
            return None
        return Rejected(Code.PARENT_WRONG_LEVEL, f"{name}: a city has no parent")
    above = LEVELS[level - 1]
    parent = None if event.parent_code is None else view.place(event.parent_code, on)
    if parent is None:
        return Rejected(
            Code.PARENT_NOT_EFFECTIVE,
            f"{name}: its parent {event.parent_code} "
            f"must be a {above} in force on {on}; define the parent first",
        )
    if parent.level != above:
        return Rejected(
            Code.PARENT_WRONG_LEVEL,
            f"{name}: its parent {event.parent_code} is a "
            f"{parent.level}, a {event.level} needs a {above}",
        )
    return None


def place_retired(view: ReferenceView, event: PlaceRetired) -> Rejected | None:
    history = view.place_history(event.code)
    if not history:
        return Rejected(Code.UNKNOWN_PLACE, f"place {event.code} was never defined")
    if event.effective_from <= history[0].effective_from:
        return Rejected(
            Code.RETIRED_BEFORE_DEFINED,
            f"place {event.code} is defined from "
            f"{history[0].effective_from}; it cannot be retired from "
            f"{event.effective_from}",
        )
    return None


def worker_assigned(view: ReferenceView, event: WorkerAssigned) -> Rejected | None:
    if view.grid_effective(event.grid_id, event.effective_from):
        return None
    return Rejected(
        Code.GRID_NOT_EFFECTIVE,
        f"worker {event.worker_id}: grid {event.grid_id} "
        f"is not a grid in force on {event.effective_from}",
    )


def category_defined(view: ReferenceView, event: CategoryDefined) -> Rejected | None:
    on = event.effective_from
    if not view.department_exists(event.default_department_code, on):
        return Rejected(
            Code.UNKNOWN_DEPARTMENT,
            f"category {event.code}: department "
            f"{event.default_department_code} is not defined on {on}",
        )
    if view.sla_policy(event.sla_policy_id, on) is None:
        return Rejected(
            Code.UNKNOWN_SLA_POLICY,
            f"category {event.code}: SLA policy {event.sla_policy_id} is not in force on {on}",
        )
    return None


def sla_policy_defined(view: ReferenceView, event: SlaPolicyDefined) -> Rejected | None:
    latest = view.latest_policy_version(event.policy_id)
    if event.version <= latest:
        return Rejected(
            Code.VERSION_NOT_INCREASING,
            f"SLA policy {event.policy_id} is at "
            f"version {latest}; publish version {latest + 1}, not {event.version}",
        )
    have = {(limit.stage, limit.priority) for limit in event.limits}
    missing = [f"{s}/{p}" for s, p in product(Stage, Priority) if (s, p) not in have]
    if missing:
        return Rejected(
            Code.POLICY_INCOMPLETE,
            f"SLA policy {event.policy_id} v{event.version} "
            f"has no limit for {', '.join(missing)}; give every stage and priority",
        )
    return None


def calendar_defined(view: ReferenceView, event: CalendarDefined) -> Rejected | None:
    if view.calendar_version_exists(event.calendar_version):
        return Rejected(
            Code.VERSION_EXISTS,
            f"calendar version {event.calendar_version} is "
            "already defined; a correction needs a new calendar_version",
        )
    try:
        year_from_definition(event)
    except InvalidCalendar as exc:
        return Rejected(Code.INVALID_CALENDAR, str(exc))
    return None


def lexicon_published(view: ReferenceView, event: LexiconPublished) -> Rejected | None:
    if view.lexicon_exists(event.lexicon_version):
        return Rejected(
            Code.VERSION_EXISTS,
            f"lexicon version {event.lexicon_version} is already published; publish a new version",
        )
    return None


def source_system_defined(view: ReferenceView, event: SourceSystemDefined) -> Rejected | None:
    on, name = event.effective_from, f"system {event.system} from {event.effective_from}"
    for code in event.departments:
        if code != "*" and not view.department_exists(code, on):
            return Rejected(Code.UNKNOWN_DEPARTMENT, f"{name}: department {code} is not defined")
    for code in event.districts:
        place = None if code == "*" else view.place(code, on)
        if code != "*" and (place is None or place.level != PlaceLevel.district):
            return Rejected(Code.UNKNOWN_PLACE, f"{name}: {code} is not a district in force")
    return None
