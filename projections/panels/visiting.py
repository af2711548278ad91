"""The rules of the grid workers' page (网格员), pure: which period an assessment covers and
the working days a grid's coverage is measured against. No SQL, no clock.

Coverage of a grid: the reference data gives no households per grid, so a grid's coverage is
the share of the period's working days (Monday to Friday) on which it had a visit, counted up
to the day the read models are complete to when the period is still running.
"""

from __future__ import annotations

from datetime import date, timedelta

from projections.panels.periods import Period

__all__ = [
    "COVERAGE_RULE",
    "assessment_quarter",
    "coverage",
    "working_days",
]

COVERAGE_RULE = "有走访的工作日 / 本期工作日（周一至周五；参考数据未提供网格户数）"


def assessment_quarter(period: Period) -> Period:
    """The quarter an assessment (考核) covers: the one ``period`` starts in."""
    return period.quarter


def working_days(period: Period, through: date | None = None) -> int:
    """Monday-to-Friday days of ``period``, up to and including ``through`` when it falls
    inside it (a running period is measured against the days gone, not the whole of it)."""
    end = period.end
    if through is not None and period.start <= through < period.end:
        end = through + timedelta(days=1)
    days = (end - period.start).days
    weeks, rest = divmod(days, 7)
    first = period.start.weekday()
    extra = sum(1 for i in range(rest) if (first + i) % 7 < 5)
    return weeks * 5 + extra


def coverage(days_visited: int, days: int) -> float | None:
    """The share of the working days that had a visit; ``None`` before the period's first
    working day."""
    if days <= 0:
        return None
    return days_visited / days
