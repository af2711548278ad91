"""Statistics as additive counters: what one event adds to which unit on which day.

Every counter is an integer, keyed by (unit level, unit code, local day of the event time in
Asia/Shanghai), so sums over days give months and quarters, and the totals do not depend on
how the log was cut into batches or in which order partitions were read. A case counts for
the grid, village, street and district it was reported in (the boundaries in force then);
department and worker counters go to whoever acted. A late post counts on the day it happened.

A case is resolved once: its final resolution counts, with the handling time from the first
dispatch to it (working hours, less the time suspended); a resolution that failed verification
and was reworked is taken back from its own day and department when the case is resolved
again (``dated_moves``), and the rework counts in ``reworks``.

A breach counts once per deadline, on the day of its due time, when its stage ends after that
time (settled by event time, ``breach_counts``): a DeadlineBreached only says when the trigger
noticed it, so the counters are the same whether the trigger ran live, late or never, and a
late post of a step done in time does not count as a breach.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from processors.rules.calendar import local_date
from processors.rules.reference_view import ReferenceView
from projections.case_fold import SETTLED_BY, CaseRow, CaseStep

__all__ = [
    "METRICS",
    "PLACE_LEVELS",
    "Delta",
    "Move",
    "Unit",
    "VisitCounts",
    "case_deltas",
    "case_moves",
    "cohort_moves",
    "dated_moves",
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
)
PLACE_LEVELS = ("district", "street", "village", "grid")

Unit = tuple[str, str]
"""(level, code): a place, a department or a worker."""
Move = tuple[tuple[Unit, ...], str, int]
"""(units, metric, amount): the same amount added to each unit's counter of one day."""
Delta = tuple[str, str, date, str, int]
"""(level, unit code, day, metric, amount): one counter of one unit moved."""


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


@lru_cache(maxsize=1 << 16)
def _places(chain: tuple[str | None, ...]) -> tuple[Unit, ...]:
    """The (level, code) of each level of ``chain`` (codes in PLACE_LEVELS order) it names."""
    return tuple((level, code) for level, code in zip(PLACE_LEVELS, chain, strict=True) if code)


def case_places(row: CaseRow) -> tuple[Unit, ...]:
    """The places a case counts for: those it was reported in, the grid included."""
    return _places((row.district_code, row.street_code, row.village_code, row.grid_id))


def _and(
    units: tuple[Unit, ...], dept: str | None = None, worker: str | None = None
) -> tuple[Unit, ...]:
    if dept:
        units = (*units, ("department", dept))
    if worker:
        units = (*units, ("worker", worker))
    return units


def case_moves(event_type: str, datum: Mapping[str, Any], step: CaseStep) -> list[Move]:
    """The counters one accepted case event moves (some by zero), on its event's local day."""
    row, before = step.after, step.before
    places = case_places(row)
    if event_type == "CaseReported":
        reporter = row.reporter_id if row.reporter_role in ("grid_worker", "grid_leader") else None
        units = _and(places, worker=reporter)
        return [(units, "reported", 1), (units, "discovered", int(row.channel == "grid_visit"))]
    if event_type == "CaseAccepted":
        return [(places, "accepted", 1)]
    if event_type == "CaseRejected":
        return [(places, "rejected", 1)]
    if event_type == "CaseDispatched":
        return [(_and(places, row.department_code), "dispatched", 1)]
    if event_type == "CaseTransferred":
        return [
            (_and(places, datum["from_department"]), "hand_offs", 1),
            ((("department", datum["to_department"]),), "dispatched", 1),
        ]
    if event_type == "CaseReturned":
        return [(_and(places, datum["department_code"]), "hand_offs", 1)]
    if event_type in ("HandoffRequested", "HandoffRuled"):
        return _handoff_moves(event_type, datum, step, places)
    if event_type == "CaseExtended":
        return [(_and(places, row.department_code), "extensions", 1)]
    if event_type == "CaseEscalated":
        return [(places, "escalations", 1)]
    if event_type == "CaseResolved":
        units = _and(places, datum["department_code"])
        return [
            (units, "resolved", 1),
            (units, "resolved_on_time", int(bool(row.on_time))),
            (units, "handling_minutes", round((row.handling_hours or 0.0) * 60)),
        ]
    if event_type == "CaseVerified":
        units = _and(places, worker=datum["worker_id"])
        verify = [d for d in step.changed_deadlines if d.stage == "verify" and d.done_at]
        on_time = bool(verify) and verify[-1].status == "met"
        dept_before = before.department_code if before else None
        return [
            (units, "verifications", 1),
            (units, "verifications_passed", int(bool(datum["passed"]))),
            (units, "verifications_on_time", int(on_time)),
            (_and(places, dept_before), "reworks", int(not datum["passed"])),
        ]
    if event_type == "CaseReopened":
        return [(_and(places, before.department_code if before else None), "reworks", 1)]
    if event_type == "CaseClosed":
        return [(places, "closed", 1)]
    if event_type == "CaseEvaluated":
        units = _and(places, row.department_code)
        return [(units, "evaluations", 1), (units, "satisfaction_sum", int(datum["satisfaction"]))]
    if event_type == "CaseSupervised":
        return [(_and(places, row.department_code), f"supervised_{datum['level']}", 1)]
    if event_type in _LADDER_METRIC:
        return [(_and(places, row.department_code), _LADDER_METRIC[event_type], 1)]
    return []


def _handoff_moves(
    event_type: str, datum: Mapping[str, Any], step: CaseStep, places: tuple[Unit, ...]
) -> list[Move]:
    """推诿: a request counts for the requesting department (and the case's places), as do
    the ruling on it, upheld or refused, and the case's flag when this request raised it; an
    upheld ruling re-dispatches the case, counted for the department it goes to as a transfer
    is."""
    row, before = step.after, step.before
    if event_type == "HandoffRequested":
        units = _and(places, datum["department_code"])
        raised = before is not None and before.handoff_flagged_at is None
        flagged = int(raised and row.handoff_flagged_at is not None)
        return [(units, "handoff_requests", 1), (units, "handoffs_flagged", flagged)]
    units = _and(places, before.department_code if before else None)
    if not datum["upheld"]:
        return [(units, "handoffs_refused", 1)]
    return [
        (units, "handoffs_upheld", 1),
        ((("department", datum["department_code"]),), "dispatched", 1),
    ]


_LADDER_METRIC = {
    "CaseUrged": "urges",
    "CaseNoticed": "noticed",
    "CaseParked": "parked",
    "CaseUnparked": "unparked",
}
"""The supervision ladder's and the backlog's counters, for the case's places and department
(督办 counts per level: ``supervised_street``, ``supervised_district``)."""


def cohort_moves(event_type: str, step: CaseStep) -> tuple[date, list[Move]] | None:
    """The moves of the close rates' cohort, on the local day the case was first dispatched:
    it is due to close (应结案) from then on, for the places it was reported in and the
    department it was first dispatched to; closing it counts it closed (on time when its
    resolution was), and reopening a closed case takes that back. So each period's cases
    due are counted once, and of them at most as many closed: 结案率 never passes 100%.
    ``None`` for an event that moves none of them."""
    row, before = step.after, step.before
    if row.first_dispatched_at is None:
        return None
    units = _and(case_places(row), row.first_department_code)
    day = local_date(row.first_dispatched_at)
    if event_type == "CaseDispatched" and (before is None or before.first_dispatched_at is None):
        return day, [(units, "due_to_close", 1)]
    if event_type == "CaseClosed":
        on_time = int(bool(row.on_time))
        return day, [(units, "closed_of_due", 1), (units, "closed_on_time_of_due", on_time)]
    if event_type == "CaseReopened" and before is not None and before.status == "closed":
        on_time = int(bool(before.on_time))
        return day, [(units, "closed_of_due", -1), (units, "closed_on_time_of_due", -on_time)]
    # On the backlog (挂账) a case leaves the cases due to close, and comes back when taken off.
    if event_type == "CaseParked":
        return day, [(units, "due_to_close", -1)]
    if event_type == "CaseUnparked":
        return day, [(units, "due_to_close", 1)]
    return None


def dated_moves(event_type: str, step: CaseStep) -> list[tuple[date, list[Move]]]:
    """The counters an event moves on other days than its own: the breaches of the deadlines
    whose stage it ends after the due time, for the case's places and the deadline's
    department on the due time's day; and a resolution it replaces, taken back."""
    places = case_places(step.after)
    out = []
    if event_type in SETTLED_BY:
        out += [
            (local_date(d.due_time), [(_and(places, d.department_code), "breaches", 1)])
            for d in step.changed_deadlines
            if d.breached_at is not None and (d.done_at is not None or d.cancelled)
        ]
    before = step.before
    if event_type == "CaseResolved" and before is not None and before.resolved_at is not None:
        units = _and(places, before.resolved_by)
        out.append(
            (
                local_date(before.resolved_at),
                [
                    (units, "resolved", -1),
                    (units, "resolved_on_time", -int(bool(before.on_time))),
                    (units, "handling_minutes", -round((before.handling_hours or 0.0) * 60)),
                ],
            )
        )
    return out


def case_deltas(event_type: str, datum: Mapping[str, Any], step: CaseStep) -> list[Delta]:
    """The counters one accepted case event moves on its event's day, one by one (the
    cohort's, on another day, are ``cohort_moves``)."""
    day = local_date(datum["envelope"]["event_time"])
    moved = deltas(day, case_moves(event_type, datum, step))
    for other_day, moves in dated_moves(event_type, step):
        moved += deltas(other_day, moves)
    return moved


class VisitCounts(NamedTuple):
    """What one visit adds: the same amounts to each of its units, on one day."""

    chain: dict[str, str]  # the grid's parents when the visit started, the grid included
    day: date
    moves: list[Move]  # to the places, then the worker


def visit_counts(datum: Mapping[str, Any], ref: ReferenceView) -> VisitCounts:
    """The counters one visit moves (``visit_deltas`` one by one)."""
    started: datetime = datum["started_at"]
    # The boundaries are by local date: asking with the date spares a conversion per level.
    grid = datum["grid_id"]
    chain = ref.parent_chain(grid, local_date(started))
    chain.setdefault("grid", grid)
    places = _places((chain.get("district"), chain.get("street"), chain.get("village"), grid))
    units = (*places, ("worker", datum["worker_id"]))
    households, findings = int(datum["households_visited"]), len(datum["findings"])
    return VisitCounts(
        chain,
        local_date(datum["envelope"]["event_time"]),
        [(units, "visits", 1), (units, "households", households), (units, "findings", findings)],
    )


def visit_deltas(
    datum: Mapping[str, Any], ref: ReferenceView
) -> tuple[dict[str, str], list[Delta]]:
    """The grid's parents at the visit's time, and the counters the visit moves."""
    chain, day, moves = visit_counts(datum, ref)
    return chain, deltas(day, moves)
