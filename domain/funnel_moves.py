"""The closed loop's funnel 上报 → 立案 → 派遣 → 处置 → 核查 → 结案 over a cohort: the cases
reported in a period, and of them how many have got through each stage by now.

A funnel of the period's events (the day's dispatches, the day's closures) widens as often as
it narrows: a month closes cases reported the month before. Counted over the cases reported
in the period, each stage holds the cases that reached it and every stage before it, so no
stage ever holds more than the one before. The counters move on the case's report day, for
the places it was reported in and the department it was first dispatched to, as the case
moves on (and back: a reopened case leaves 结案 until it is closed again), so a period's
funnel is always the state of its cases now. The stages and the moves are the funnel cohort's
of ``domain.cohorts``, moved by the event types that declare it (``domain.meanings``).
"""

from __future__ import annotations

from datetime import date

from domain.case_fold import CaseStep
from domain.cohorts import FUNNEL_METRICS, FUNNEL_STAGES, Cohort, reached
from domain.stats_moves import Move, declared_moves

__all__ = ["FUNNEL_METRICS", "FUNNEL_SQL", "funnel_moves", "reached"]


def _stage_sql(field: str) -> str:
    return "c.status = 'closed'" if field == "status" else f"c.{field} IS NOT NULL"


# The same stages as conditions on a ``cases`` row ``c``, for the drill to the cases.
FUNNEL_SQL: dict[str, str] = {
    metric: " AND ".join(_stage_sql(f) for _, f in FUNNEL_STAGES[: i + 1])
    for i, (metric, _) in enumerate(FUNNEL_STAGES)
}


def funnel_moves(step: CaseStep) -> tuple[date, list[Move]] | None:
    """The funnel's moves of one case event (``cohorts.funnel``), on the case's report day,
    when its type declares them; ``None`` when nothing moved."""
    moves = declared_moves(step.timeline.event_type, Cohort.funnel)
    return None if moves is None else moves(step)
