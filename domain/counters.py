"""What one accepted case event or visit adds to the statistics' counters on its own day, one
function per event type (``domain.meanings`` declares which type moves which): the units it
counts for and the metric, as ``Move``s. A case counts for the grid, village, street and district it was
reported in; department and worker counters go to whoever acted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from domain.calendar import local_date
from domain.reference_view import ReferenceView

if TYPE_CHECKING:  # the fold's rows are only read here; the fold imports the meanings
    from domain.case_fold import CaseRow, CaseStep

__all__ = [
    "PLACE_LEVELS",
    "Counters",
    "Move",
    "Unit",
    "VisitCounts",
    "accepted",
    "case_places",
    "closed",
    "dispatched",
    "escalated",
    "evaluated",
    "extended",
    "handoff_requested",
    "handoff_ruled",
    "noticed",
    "parked",
    "places_of",
    "rejected",
    "reopened",
    "reported",
    "resolved",
    "returned",
    "supervised",
    "transferred",
    "unparked",
    "urged",
    "verified",
    "visit_counts",
    "with_units",
]

PLACE_LEVELS = ("district", "street", "village", "grid")

Unit = tuple[str, str]
"""(level, code): a place, a department or a worker."""
Move = tuple[tuple[Unit, ...], str, int]
"""(units, metric, amount): the same amount added to each unit's counter of one day."""
Counters = Callable[[Mapping[str, Any], "CaseStep"], list[Move]]
"""An event type's counters: the event's datum and what it did to the case -> its moves."""


@lru_cache(maxsize=1 << 16)
def places_of(chain: tuple[str | None, ...]) -> tuple[Unit, ...]:
    """The (level, code) of each level of ``chain`` (codes in PLACE_LEVELS order) it names."""
    return tuple((level, code) for level, code in zip(PLACE_LEVELS, chain, strict=True) if code)


def case_places(row: CaseRow) -> tuple[Unit, ...]:
    """The places a case counts for: those it was reported in, the grid included."""
    return places_of((row.district_code, row.street_code, row.village_code, row.grid_id))


def with_units(
    units: tuple[Unit, ...], dept: str | None = None, worker: str | None = None
) -> tuple[Unit, ...]:
    """``units`` and, when named, a department and a worker."""
    if dept:
        units = (*units, ("department", dept))
    if worker:
        units = (*units, ("worker", worker))
    return units


def _of_department(metric: str) -> Counters:
    """One of ``metric`` for the case's places and its current department."""

    def moves(datum: Mapping[str, Any], step: CaseStep) -> list[Move]:
        row = step.after
        return [(with_units(case_places(row), row.department_code), metric, 1)]

    return moves


def _of_places(metric: str) -> Counters:
    """One of ``metric`` for the case's places."""

    def moves(datum: Mapping[str, Any], step: CaseStep) -> list[Move]:
        return [(case_places(step.after), metric, 1)]

    return moves


def reported(datum: Mapping[str, Any], step: CaseStep) -> list[Move]:
    row = step.after
    reporter = row.reporter_id if row.reporter_role in ("grid_worker", "grid_leader") else None
    units = with_units(case_places(row), worker=reporter)
    return [(units, "reported", 1), (units, "discovered", int(row.channel == "grid_visit"))]


accepted = _of_places("accepted")
rejected = _of_places("rejected")
dispatched = _of_department("dispatched")
extended = _of_department("extensions")
escalated = _of_places("escalations")
closed = _of_places("closed")
urged = _of_department("urges")
noticed = _of_department("noticed")
parked = _of_department("parked")
unparked = _of_department("unparked")


def transferred(datum: Mapping[str, Any], step: CaseStep) -> list[Move]:
    return [
        (with_units(case_places(step.after), datum["from_department"]), "hand_offs", 1),
        ((("department", datum["to_department"]),), "dispatched", 1),
    ]


def handoff_requested(datum: Mapping[str, Any], step: CaseStep) -> list[Move]:
    """推诿: a request counts for the department that asked (and the case's places), as does
    the case's flag when this request raised it."""
    row, before = step.after, step.before
    units = with_units(case_places(row), datum["department_code"])
    raised = before is not None and before.handoff_flagged_at is None
    flagged = int(raised and row.handoff_flagged_at is not None)
    return [(units, "handoff_requests", 1), (units, "handoffs_flagged", flagged)]


def handoff_ruled(datum: Mapping[str, Any], step: CaseStep) -> list[Move]:
    """A ruling counts for the department that asked, upheld or refused; an upheld one
    re-dispatches the case, counted for the department it goes to as a transfer is."""
    before = step.before
    units = with_units(case_places(step.after), before.department_code if before else None)
    if not datum["upheld"]:
        return [(units, "handoffs_refused", 1)]
    return [
        (units, "handoffs_upheld", 1),
        ((("department", datum["department_code"]),), "dispatched", 1),
    ]


def returned(datum: Mapping[str, Any], step: CaseStep) -> list[Move]:
    return [(with_units(case_places(step.after), datum["department_code"]), "hand_offs", 1)]


def resolved(datum: Mapping[str, Any], step: CaseStep) -> list[Move]:
    row = step.after
    units = with_units(case_places(row), datum["department_code"])
    return [
        (units, "resolved", 1),
        (units, "resolved_on_time", int(bool(row.on_time))),
        (units, "handling_minutes", round((row.handling_hours or 0.0) * 60)),
    ]


def verified(datum: Mapping[str, Any], step: CaseStep) -> list[Move]:
    places, before = case_places(step.after), step.before
    units = with_units(places, worker=datum["worker_id"])
    verify = [d for d in step.changed_deadlines if d.stage == "verify" and d.done_at]
    on_time = bool(verify) and verify[-1].status == "met"
    dept_before = before.department_code if before else None
    return [
        (units, "verifications", 1),
        (units, "verifications_passed", int(bool(datum["passed"]))),
        (units, "verifications_on_time", int(on_time)),
        (with_units(places, dept_before), "reworks", int(not datum["passed"])),
    ]


def reopened(datum: Mapping[str, Any], step: CaseStep) -> list[Move]:
    before = step.before
    dept = before.department_code if before else None
    return [(with_units(case_places(step.after), dept), "reworks", 1)]


def evaluated(datum: Mapping[str, Any], step: CaseStep) -> list[Move]:
    row = step.after
    units = with_units(case_places(row), row.department_code)
    return [(units, "evaluations", 1), (units, "satisfaction_sum", int(datum["satisfaction"]))]


def supervised(datum: Mapping[str, Any], step: CaseStep) -> list[Move]:
    """督办 counts per level: ``supervised_street``, ``supervised_district``."""
    row = step.after
    units = with_units(case_places(row), row.department_code)
    return [(units, f"supervised_{datum['level']}", 1)]


class VisitCounts(NamedTuple):
    """What one visit adds: the same amounts to each of its units, on one day."""

    chain: dict[str, str]  # the grid's parents when the visit started, the grid included
    day: date
    moves: list[Move]  # to the places, then the worker


def visit_counts(datum: Mapping[str, Any], ref: ReferenceView) -> VisitCounts:
    """The counters one visit moves (``stats_moves.visit_deltas`` one by one)."""
    started: datetime = datum["started_at"]
    # The boundaries are by local date: asking with the date spares a conversion per level.
    grid = datum["grid_id"]
    chain = ref.parent_chain(grid, local_date(started))
    chain.setdefault("grid", grid)
    places = places_of((chain.get("district"), chain.get("street"), chain.get("village"), grid))
    units = (*places, ("worker", datum["worker_id"]))
    households, findings = int(datum["households_visited"]), len(datum["findings"])
    return VisitCounts(
        chain,
        local_date(datum["envelope"]["event_time"]),
        [(units, "visits", 1), (units, "households", households), (units, "findings", findings)],
    )
