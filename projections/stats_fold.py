"""Statistics as additive counters: what one event adds to which unit on which day.

Every counter is an integer, keyed by (unit level, unit code, local day of the event time in
Asia/Shanghai), so sums over days give months and quarters, and the totals do not depend on
how the log was cut into batches or in which order partitions were read. A case counts for
the grid, village, street and district it was reported in (the boundaries in force then);
department and worker counters go to whoever acted. A late post counts on the day it happened.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

from processors.rules.calendar import local_date
from processors.rules.reference_view import ReferenceView
from projections.case_fold import CaseStep

__all__ = [
    "METRICS",
    "PLACE_LEVELS",
    "Delta",
    "VisitCounts",
    "case_deltas",
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
    "extensions",
    "escalations",
    "breaches",
    "evaluations",
    "satisfaction_sum",
    "visits",
    "households",
    "findings",
)
PLACE_LEVELS = ("district", "street", "village", "grid")

Delta = tuple[str, str, date, str, int]
"""(level, unit code, day, metric, amount)."""


def quarter_of(day: date) -> str:
    """``2025-Q3`` for a day in July 2025."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _places(chain: Mapping[str, str | None]) -> Iterator[tuple[str, str]]:
    for level in PLACE_LEVELS:
        code = chain.get(level)
        if code:
            yield level, code


def case_deltas(event_type: str, datum: Mapping[str, Any], step: CaseStep) -> list[Delta]:
    """The counters one accepted case event moves."""
    row, before = step.after, step.before
    day = local_date(datum["envelope"]["event_time"])
    chain = {
        "district": row.district_code,
        "street": row.street_code,
        "village": row.village_code,
        "grid": row.grid_id,
    }
    out: list[Delta] = []

    def add(
        metric: str, amount: int = 1, *, dept: str | None = None, worker: str | None = None
    ) -> None:
        if not amount:
            return
        for level, code in _places(chain):
            out.append((level, code, day, metric, amount))
        if dept:
            out.append(("department", dept, day, metric, amount))
        if worker:
            out.append(("worker", worker, day, metric, amount))

    dept_before = before.department_code if before else None
    if event_type == "CaseReported":
        reporter = row.reporter_id if row.reporter_role in ("grid_worker", "grid_leader") else None
        add("reported", worker=reporter)
        add("discovered", int(row.channel == "grid_visit"), worker=reporter)
    elif event_type == "CaseAccepted":
        add("accepted")
    elif event_type == "CaseRejected":
        add("rejected")
    elif event_type == "CaseDispatched":
        add("dispatched", dept=row.department_code)
    elif event_type == "CaseTransferred":
        add("hand_offs", dept=datum["from_department"])
        out.append(("department", datum["to_department"], day, "dispatched", 1))
    elif event_type == "CaseReturned":
        add("hand_offs", dept=datum["department_code"])
    elif event_type == "CaseExtended":
        add("extensions", dept=row.department_code)
    elif event_type == "CaseEscalated":
        add("escalations")
    elif event_type == "CaseResolved":
        dept = datum["department_code"]
        add("resolved", dept=dept)
        add("resolved_on_time", int(bool(row.on_time)), dept=dept)
        add("handling_minutes", round((row.handling_hours or 0.0) * 60), dept=dept)
    elif event_type == "CaseVerified":
        worker = datum["worker_id"]
        verify = [d for d in step.changed_deadlines if d.stage == "verify" and d.done_at]
        add("verifications", worker=worker)
        add("verifications_passed", int(bool(datum["passed"])), worker=worker)
        add(
            "verifications_on_time", int(bool(verify) and verify[-1].status == "met"), worker=worker
        )
        add("reworks", int(not datum["passed"]), dept=dept_before)
    elif event_type == "CaseReopened":
        add("reworks", dept=dept_before)
    elif event_type == "CaseClosed":
        add("closed")
    elif event_type == "CaseEvaluated":
        add("evaluations", dept=row.department_code)
        add("satisfaction_sum", int(datum["satisfaction"]), dept=row.department_code)
    elif event_type == "DeadlineBreached":
        add("breaches", dept=row.department_code)
    return out


class VisitCounts(NamedTuple):
    """What one visit adds: the same amounts to each of its units, on one day."""

    chain: dict[str, str]  # the grid's parents when the visit started, the grid included
    day: date
    units: tuple[tuple[str, str], ...]  # (level, code): the places, then the worker
    amounts: tuple[tuple[str, int], ...]  # (metric, amount), none of them zero


def visit_counts(datum: Mapping[str, Any], ref: ReferenceView) -> VisitCounts:
    """The counters one visit moves, by unit (``visit_deltas`` one by one)."""
    started: datetime = datum["started_at"]
    # The boundaries are by local date: asking with the date spares a conversion per level.
    chain = ref.parent_chain(datum["grid_id"], local_date(started))
    chain.setdefault("grid", datum["grid_id"])
    households, findings = int(datum["households_visited"]), len(datum["findings"])
    amounts = (("visits", 1), ("households", households), ("findings", findings))
    return VisitCounts(
        chain,
        local_date(datum["envelope"]["event_time"]),
        (*_places(chain), ("worker", datum["worker_id"])),
        tuple((metric, amount) for metric, amount in amounts if amount),
    )


def visit_deltas(
    datum: Mapping[str, Any], ref: ReferenceView
) -> tuple[dict[str, str], list[Delta]]:
    """The grid's parents at the visit's time, and the counters the visit moves."""
    chain, day, units, amounts = visit_counts(datum, ref)
    return chain, [
        (level, code, day, metric, amount) for metric, amount in amounts for level, code in units
    ]
