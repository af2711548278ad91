"""The closed loop's funnel 上报 → 立案 → 派遣 → 处置 → 核查 → 结案 over a cohort: the cases
reported in a period, and of them how many have got through each stage by now.

A funnel of the period's events (the day's dispatches, the day's closures) widens as often as
it narrows: a month closes cases reported the month before. Counted over the cases reported
in the period, each stage holds the cases that reached it and every stage before it, so no
stage ever holds more than the one before. The counters move on the case's report day, for
the places it was reported in and the department it was first dispatched to, as the case
moves on (and back: a reopened case leaves 结案 until it is closed again), so a period's
funnel is always the state of its cases now.
"""

from __future__ import annotations

from datetime import date

from domain.calendar import local_date
from domain.case_fold import CaseRow, CaseStep
from domain.stats_moves import Move, Unit, case_places

__all__ = ["FUNNEL_METRICS", "FUNNEL_SQL", "funnel_moves", "reached"]

# Each stage's counter and what a case must show to have reached it; a stage counts a case
# only when every stage before it does too.
_STAGES: tuple[tuple[str, str], ...] = (
    ("funnel_accepted", "accepted_at"),
    ("funnel_dispatched", "first_dispatched_at"),
    ("funnel_resolved", "resolved_at"),
    ("funnel_verified", "verified_at"),
    ("funnel_closed", "status"),
)
FUNNEL_METRICS = tuple(metric for metric, _ in _STAGES)


def _at_stage(row: CaseRow, field: str) -> bool:
    if field == "status":
        return row.status == "closed"
    return getattr(row, field) is not None


def reached(row: CaseRow | None) -> tuple[int, ...]:
    """1 for each stage the case has got through (with all the stages before it), else 0."""
    out, going = [], row is not None
    for _, field in _STAGES:
        going = going and row is not None and _at_stage(row, field)
        out.append(int(going))
    return tuple(out)


def _stage_sql(field: str) -> str:
    return "c.status = 'closed'" if field == "status" else f"c.{field} IS NOT NULL"


# The same stages as conditions on a ``cases`` row ``c``, for the drill to the cases.
FUNNEL_SQL: dict[str, str] = {
    metric: " AND ".join(_stage_sql(f) for _, f in _STAGES[: i + 1])
    for i, (metric, _) in enumerate(_STAGES)
}


def funnel_moves(step: CaseStep) -> tuple[date, list[Move]] | None:
    """The funnel's moves of one case event, on the case's report day: for its places, what
    it reached less what it had; for the department first dispatched to, the same, and all
    it has reached at once on the step that first dispatches it. ``None`` when nothing moved."""
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
