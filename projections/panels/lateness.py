"""How late a deadline is (超期), as the domain counts it: working hours past the due time on
the calendar the deadline was set with, the buckets of the overdue distribution, and the
Chinese names of stages and escalation levels. Pure: no SQL, no clock (``now`` is given)."""

from __future__ import annotations

import itertools
from datetime import datetime

from domain.calendar import WorkCalendar, working_hours_between
from domain.errors import CalendarGap

__all__ = [
    "BUCKETS",
    "BUCKET_EDGES",
    "bucket_of",
    "bucket_sql",
    "late_working_hours",
]

BUCKET_EDGES = (0, 4, 8, 16, 40)
"""The overdue distribution's edges in working hours late, declared once: (0,4], (4,8],
(8,16], (16,40] and more than 40."""
BUCKETS = (*(f"({lo},{hi}]" for lo, hi in itertools.pairwise(BUCKET_EDGES)), f">{BUCKET_EDGES[-1]}")
"""The buckets' labels, in their numeric order (the index ``bucket_of`` answers)."""


def bucket_of(hours: float) -> int | None:
    """The index in ``BUCKETS`` of ``hours`` late; ``None`` when not late (0 or less)."""
    if hours <= BUCKET_EDGES[0]:
        return None
    for index, upper in enumerate(BUCKET_EDGES[1:]):
        if hours <= upper:
            return index
    return len(BUCKETS) - 1


def bucket_sql(column: str) -> str:
    """``bucket_of`` in SQL: the bucket index of a positive ``column`` of hours late."""
    whens = " ".join(
        f"WHEN {column} <= {upper} THEN {i}" for i, upper in enumerate(BUCKET_EDGES[1:])
    )
    return f"CASE {whens} ELSE {len(BUCKETS) - 1} END"


def late_working_hours(
    calendar: WorkCalendar, calendar_version: str, due: datetime, now: datetime
) -> float | None:
    """Working hours from ``due`` to ``now`` on ``calendar``, when it holds every year version
    the deadline names (``2025.1+2026.1``) and the years up to ``now``; ``None`` when it does
    not: hours counted on another calendar than the deadline's would be a different number."""
    known = {year.version for year in calendar.years}
    if not set(calendar_version.split("+")) <= known:
        return None
    try:
        return max(0.0, working_hours_between(calendar, due, now))
    except CalendarGap:
        return None
