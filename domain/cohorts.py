"""What one accepted case event moves in a cohort: counters of another day than its own (the day
its case joined the cohort), one function per event type and cohort (``domain.meanings``
declares which type moves which, ``CaseMeaning.cohorts``).

- 结案率's cases due to close (``Cohort.due_to_close``), counted on the local day the case was
  first dispatched, for the places it was reported in and the department first dispatched to:
  due from its first dispatch, closed (on time when its resolution was) when it closes, that
  taken back when a closed case reopens; off the cases due while on the backlog (挂账). So each
  period's cases due are counted once, and of them at most as many closed: 结案率 never passes
  100%.
- The funnel (``Cohort.funnel``, ``domain.funnel_moves``): the cases reported on a day, by how
  far they got, on the report's day.
- The resolutions (``Cohort.resolution``): a case is resolved once, its final resolution
  counting; a resolution that failed verification and was reworked is taken back from its own
  day and department when the case is resolved again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from domain.calendar import local_date
from domain.counters import Move, Unit, case_places, with_units

if TYPE_CHECKING:  # the fold's rows are only read here; the fold imports the meanings
    from domain.case_fold import CaseRow, CaseStep

__all__ = [
    "FUNNEL_METRICS",
    "FUNNEL_STAGES",
    "Cohort",
    "CohortMoves",
    "Cohorts",
    "Dated",
    "closed",
    "first_dispatched",
    "funnel",
    "parked",
    "reached",
    "reopened",
    "replaced_resolution",
    "unparked",
]

Dated = tuple[date, list[Move]]
"""The moves of one day (not the event's own)."""
CohortMoves = Callable[["CaseStep"], Dated | None]
"""An event type's moves in one cohort: what the event did to the case -> the cohort's day
and moves, or ``None`` when this event moved nothing there."""


class Cohort(StrEnum):
    """A set of cases counted on the day each joined it, whenever they move on."""

    due_to_close = "结案率's: the cases due to close, on the day each was first dispatched"
    funnel = "the funnel's: the cases reported on a day, by how far they got"
    resolution = "the resolutions': a case's final one, an earlier one taken back on its day"


Cohorts = Mapping[Cohort, CohortMoves]
"""An event type's declared cohort moves, by the cohort they move."""


# --- 结案率's cases due to close ---------------------------------------------------------
def _due(step: CaseStep, moves: Callable[[tuple[Unit, ...]], list[Move]]) -> Dated | None:
    """``moves`` of the case's units on the day it was first dispatched; ``None`` before."""
    row = step.after
    if row.first_dispatched_at is None:
        return None
    units = with_units(case_places(row), row.first_department_code)
    return local_date(row.first_dispatched_at), moves(units)


def first_dispatched(step: CaseStep) -> Dated | None:
    """A dispatch makes the case due to close, the first one only."""
    before = step.before
    if before is not None and before.first_dispatched_at is not None:
        return None
    return _due(step, lambda units: [(units, "due_to_close", 1)])


def closed(step: CaseStep) -> Dated | None:
    on_time = int(bool(step.after.on_time))
    return _due(
        step, lambda units: [(units, "closed_of_due", 1), (units, "closed_on_time_of_due", on_time)]
    )


def reopened(step: CaseStep) -> Dated | None:
    """A closed case reopened is not closed any more (a resolved one never counted)."""
    before = step.before
    if before is None or before.status != "closed":
        return None
    on_time = int(bool(before.on_time))
    return _due(
        step,
        lambda units: [(units, "closed_of_due", -1), (units, "closed_on_time_of_due", -on_time)],
    )


def parked(step: CaseStep) -> Dated | None:
    """On the backlog (挂账) a case leaves the cases due to close..."""
    return _due(step, lambda units: [(units, "due_to_close", -1)])


def unparked(step: CaseStep) -> Dated | None:
    """...and comes back when taken off."""
    return _due(step, lambda units: [(units, "due_to_close", 1)])


# --- the funnel --------------------------------------------------------------------------------
# Each stage's counter and what a case must show to have reached it; a stage counts a case
# only when every stage before it does too.
FUNNEL_STAGES: tuple[tuple[str, str], ...] = (
    ("funnel_accepted", "accepted_at"),
    ("funnel_dispatched", "first_dispatched_at"),
    ("funnel_resolved", "resolved_at"),
    ("funnel_verified", "verified_at"),
    ("funnel_closed", "status"),
)
FUNNEL_METRICS = tuple(metric for metric, _ in FUNNEL_STAGES)


def _at_stage(row: CaseRow, field: str) -> bool:
    if field == "status":
        return row.status == "closed"
    return getattr(row, field) is not None


def reached(row: CaseRow | None) -> tuple[int, ...]:
    """1 for each stage the case has got through (with all the stages before it), else 0."""
    out, going = [], row is not None
    for _, field in FUNNEL_STAGES:
        going = going and row is not None and _at_stage(row, field)
        out.append(int(going))
    return tuple(out)


def funnel(step: CaseStep) -> Dated | None:
    """The funnel's moves, on the case's report day: for its places, what it reached less what
    it had; for the department first dispatched to, the same, and all it has reached at once
    on the step that first dispatches it. ``None`` when nothing moved."""
    after, before = step.after, step.before
    now, was = reached(after), reached(before)
    moves: list[Move] = _differences(case_places(after), now, was)
    department = after.first_department_code
    if department is not None:
        known = before is not None and before.first_department_code == department
        unit: tuple[Unit, ...] = (("department", department),)
        moves += _differences(unit, now, was if known else (0,) * len(now))
    return (local_date(after.reported_at), moves) if moves else None


def _differences(units: tuple[Unit, ...], now: tuple[int, ...], was: tuple[int, ...]) -> list[Move]:
    return [
        (units, metric, n - w)
        for metric, n, w in zip(FUNNEL_METRICS, now, was, strict=True)
        if n != w
    ]


# --- the resolutions ---------------------------------------------------------------------------
def replaced_resolution(step: CaseStep) -> Dated | None:
    """A case resolved again: its earlier resolution taken back from its own day and the
    department that made it (the new one counts on its own day, ``counters.resolved``)."""
    before = step.before
    if before is None or before.resolved_at is None:
        return None
    units = with_units(case_places(step.after), before.resolved_by)
    return (
        local_date(before.resolved_at),
        [
            (units, "resolved", -1),
            (units, "resolved_on_time", -int(bool(before.on_time))),
            (units, "handling_minutes", -round((before.handling_hours or 0.0) * 60)),
        ],
    )
