"""Statistics as additive counters: what one event adds to which unit on which day.

Every counter is an integer, keyed by (unit level, unit code, local day of the event time in
Asia/Shanghai), so sums over days give months and quarters, and the totals do not depend on
how the log was cut into batches or in which order partitions were read. A case counts for
the grid, village, street and district it was reported in (the boundaries in force then);
department and worker counters go to whoever acted. A late post counts on the day it happened.

A case is resolved once: its final resolution counts, with the handling time from the first
dispatch to it (working hours, less the time suspended); a resolution that failed verification
and was reworked is taken back from its own day and department when the case is resolved
again (``dated_moves``, the resolutions' cohort of ``domain.cohorts``), and the rework counts
in ``reworks``. The cohorts' moves are declared per event type in ``domain.meanings``
(``CaseMeaning.cohorts``) and read here (``cohort_moves``, ``dated_moves``) and by the funnel
(``domain.funnel_moves``).

A breach counts once per deadline, on the day of its due time, when its stage ends after that
time (settled by event time, ``breach_counts``): a DeadlineBreached only says when the trigger
noticed it, so the counters are the same whether the trigger ran live, late or never, and a
late post of a step done in time does not count as a breach.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from domain.calendar import local_date
from domain.case_fold import CaseStep
from domain.cohorts import Cohort, CohortMoves
from domain.counters import (
    PLACE_LEVELS,
    Move,
    Unit,
    VisitCounts,
    case_places,
    visit_counts,
    with_units,
)
from domain.meaning_types import DeadlineEffect, No
from domain.meanings import CASE_MEANINGS
from domain.reference_view import ReferenceView

__all__ = [
    "METRICS",
    "PLACE_LEVELS",
    "Delta",
    "Move",
    "Unit",
    "VisitCounts",
    "case_deltas",
    "case_moves",
    "case_places",
    "cohort_moves",
    "dated_moves",
    "declared_moves",
    "deltas",
    "quarter_of",
    "visit_counts",
    "visit_deltas",
]

METRICS = (
    "reported",
    "discovered",
    "accepted",
    "rejected",
    "dispatched",
    "resolved",
    "resolved_on_time",
    "handling_minutes",
    "closed",
    "verifications",
    "verifications_passed",
    "verifications_on_time",
    "reworks",
    "hand_offs",
    "handoff_requests",
    "handoffs_upheld",
    "handoffs_refused",
    "handoffs_flagged",
    "extensions",
    "escalations",
    "breaches",
    "urges",
    "supervised_street",
    "supervised_district",
    "noticed",
    "parked",
    "unparked",
    "evaluations",
    "satisfaction_sum",
    "visits",
    "households",
    "findings",
    # 结案率's cohort (``cohort_moves``): counted on the day the case was first dispatched
    "due_to_close",
    "closed_of_due",
    "closed_on_time_of_due",
    # the funnel's cohort (``funnel_moves``): the cases reported that day, by how far they got
    "funnel_accepted",
    "funnel_dispatched",
    "funnel_resolved",
    "funnel_verified",
    "funnel_closed",
)

Delta = tuple[str, str, date, str, int]
"""(level, unit code, day, metric, amount): one counter of one unit moved."""

_SETTLING = frozenset(
    {DeadlineEffect.met, DeadlineEffect.cancelled, DeadlineEffect.cancelled_if_upheld}
)


def quarter_of(day: date) -> str:
    """``2025-Q3`` for a day in July 2025."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def deltas(day: date, moves: Iterable[Move]) -> list[Delta]:
    """``moves`` of ``day`` one counter at a time, without the zeros."""
    return [
        (level, code, day, metric, amount)
        for units, metric, amount in moves
        if amount
        for level, code in units
    ]


def case_moves(event_type: str, datum: Mapping[str, Any], step: CaseStep) -> list[Move]:
    """The counters one accepted case event moves (some by zero), on its event's local day:
    its type's declared ``counters`` (``domain.meanings``)."""
    meaning = CASE_MEANINGS.get(event_type)
    if meaning is None or isinstance(meaning.counters, No):
        return []
    return meaning.counters(datum, step)


def declared_moves(event_type: str, cohort: Cohort) -> CohortMoves | None:
    """The moves of ``cohort`` that ``event_type`` declares (``CaseMeaning.cohorts``), or
    ``None`` when it moves none there (or is not a case event)."""
    meaning = CASE_MEANINGS.get(event_type)
    if meaning is None or isinstance(meaning.cohorts, No):
        return None
    return meaning.cohorts.get(cohort)


def cohort_moves(event_type: str, step: CaseStep) -> tuple[date, list[Move]] | None:
    """The moves of the close rates' cohort (``Cohort.due_to_close``), on the local day the
    case was first dispatched; ``None`` for an event that moves none of them."""
    moves = declared_moves(event_type, Cohort.due_to_close)
    return None if moves is None else moves(step)


def dated_moves(event_type: str, step: CaseStep) -> list[tuple[date, list[Move]]]:
    """The counters an event moves on other days than its own: the breaches of the deadlines
    whose stage it ends after the due time, for the case's places and the deadline's
    department on the due time's day; and a resolution it replaces, taken back
    (``Cohort.resolution``)."""
    out = []
    meaning = CASE_MEANINGS.get(event_type)
    if meaning is not None and meaning.deadline_effect in _SETTLING:
        places = case_places(step.after)
        out += [
            (local_date(d.due_time), [(with_units(places, d.department_code), "breaches", 1)])
            for d in step.changed_deadlines
            if d.breached_at is not None and (d.done_at is not None or d.cancelled)
        ]
    replaced = declared_moves(event_type, Cohort.resolution)
    taken_back = None if replaced is None else replaced(step)
    if taken_back is not None:
        out.append(taken_back)
    return out


def case_deltas(event_type: str, datum: Mapping[str, Any], step: CaseStep) -> list[Delta]:
    """The counters one accepted case event moves on its event's day, one by one (the
    cohort's, on another day, are ``cohort_moves``)."""
    day = local_date(datum["envelope"]["event_time"])
    moved = deltas(day, case_moves(event_type, datum, step))
    for other_day, moves in dated_moves(event_type, step):
        moved += deltas(other_day, moves)
    return moved


def visit_deltas(
    datum: Mapping[str, Any], ref: ReferenceView
) -> tuple[dict[str, str], list[Delta]]:
    """The grid's parents at the visit's time, and the counters the visit moves."""
    chain, day, moves = visit_counts(datum, ref)
    return chain, deltas(day, moves)
