"""``decide_reference``: whether a reference-data definition may join the reference log.

Definitions must fit the view they are applied to: a place's parent in force on its date and
one level up, a retirement after the definition, an assignment to a grid in force, a
category's department and policy known, policy versions increasing and complete, calendar and
lexicon versions new, a system's departments and districts defined; none back-dated over a
version that already decided events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from itertools import product
from typing import Any

from domain.calendar import local_date, year_from_definition
from domain.decisions import (
    Accepted,
    Decision,
    Duplicate,
    Rejected,
    recorded_before_event,
    stamp,
)
from domain.decisions import RejectionCode as Code
from domain.errors import InvalidCalendar
from domain.reference_view import LEVELS, ReferenceView
from events.models import (
    CalendarDefined,
    CategoryDefined,
    Event,
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

__all__ = ["decide_reference"]

Check = Callable[[ReferenceView, Any], Rejected | None]


def _place(view: ReferenceView, event: PlaceDefined) -> Rejected | None:
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


def _retire(view: ReferenceView, event: PlaceRetired) -> Rejected | None:
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


def _assign(view: ReferenceView, event: WorkerAssigned) -> Rejected | None:
    if view.grid_effective(event.grid_id, event.effective_from):
        return None
    return Rejected(
        Code.GRID_NOT_EFFECTIVE,
        f"worker {event.worker_id}: grid {event.grid_id} "
        f"is not a grid in force on {event.effective_from}",
    )


def _category(view: ReferenceView, event: CategoryDefined) -> Rejected | None:
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


def _policy(view: ReferenceView, event: SlaPolicyDefined) -> Rejected | None:
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


def _calendar(view: ReferenceView, event: CalendarDefined) -> Rejected | None:
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


def _lexicon(view: ReferenceView, event: LexiconPublished) -> Rejected | None:
    if view.lexicon_exists(event.lexicon_version):
        return Rejected(
            Code.VERSION_EXISTS,
            f"lexicon version {event.lexicon_version} is already published; publish a new version",
        )
    return None


def _in_force_before(view: ReferenceView, event: Any, first: date, last: date) -> bool:
    """Whether a version that ``event`` would replace answered for some day of
    [``first``, ``last``]: then events of those days were decided under it."""
    if isinstance(event, PlaceDefined | PlaceRetired):
        return any(p.effective_from <= last for p in view.place_history(event.code))
    if isinstance(event, WorkerAssigned):
        return any(view.worker_grid(event.worker_id, day) for day in (first, last))
    if isinstance(event, CategoryDefined):
        return any(view.category(event.code, day) for day in (first, last))
    if isinstance(event, LexiconPublished):
        return view.lexicon(last) is not None  # lexicons only ever follow one another
    return False


def _backdated(view: ReferenceView, event: Event) -> Rejected | None:
    """A definition effective from before the day it is recorded on, over a version that was
    in force on those days, would make a replay file those days' events otherwise than the
    live run did: refused. SLA policies and calendars are exempt, as every deadline records
    the versions it was computed with."""
    effective: date | None = getattr(event, "effective_from", None)
    recorded = local_date(event.envelope.recorded_time)
    if effective is None or effective >= recorded:
        return None
    if not _in_force_before(view, event, effective, recorded - timedelta(days=1)):
        return None
    return Rejected(
        Code.BACKDATED_REFERENCE,
        f"{event.event_type} {event.envelope.event_id} is effective from {effective}, but "
        f"events up to {recorded} (when it was recorded) were already decided under the "
        f"version before; make it effective from {recorded} or later",
    )


def _system(view: ReferenceView, event: SourceSystemDefined) -> Rejected | None:
    on, name = event.effective_from, f"system {event.system} from {event.effective_from}"
    for code in event.departments:
        if code != "*" and not view.department_exists(code, on):
            return Rejected(Code.UNKNOWN_DEPARTMENT, f"{name}: department {code} is not defined")
    for code in event.districts:
        place = None if code == "*" else view.place(code, on)
        if code != "*" and (place is None or place.level != PlaceLevel.district):
            return Rejected(Code.UNKNOWN_PLACE, f"{name}: {code} is not a district in force")
    return None


CHECKS: dict[str, Check] = {
    "PlaceDefined": _place,
    "PlaceRetired": _retire,
    "WorkerAssigned": _assign,
    "CategoryDefined": _category,
    "SlaPolicyDefined": _policy,
    "CalendarDefined": _calendar,
    "LexiconPublished": _lexicon,
    "SourceSystemDefined": _system,
}


def decide_reference(view: ReferenceView, submission: Event) -> Decision:
    """Accept (stamped with the next reference sequence), reject, or recognise a duplicate."""
    env = submission.envelope
    seen = view.sequence_of(env.event_id)
    if seen is not None:
        return Duplicate(seen)
    if submission.stream != "reference":
        return Rejected(
            Code.WRONG_STREAM,
            f"{submission.event_type} {env.event_id} is not "
            f"reference data; submit it to the {submission.stream} inbox",
        )
    if env.sequence is not None:
        return Rejected(
            Code.SEQUENCE_SET_BY_SUBMITTER,
            f"{submission.event_type} "
            f"{env.event_id} carries sequence {env.sequence}; submit it unset",
        )
    check = CHECKS.get(submission.event_type)
    rejected = (
        recorded_before_event(submission)
        or _backdated(view, submission)
        or (check(view, submission) if check else None)
    )
    return rejected or Accepted((stamp(submission, view.sequence + 1),))
