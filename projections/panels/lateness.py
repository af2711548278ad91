"""How late a deadline is (超期), as the domain counts it: working hours past the due time on
the calendar the deadline was set with, the buckets of the overdue distribution, and the
Chinese names of stages and escalation levels. Pure: no SQL, no clock (``now`` is given)."""

from __future__ import annotations

from datetime import datetime

from processors.rules.calendar import WorkCalendar, working_hours_between
from processors.rules.errors import CalendarGap

__all__ = [
    "BUCKETS",
    "BUCKET_EDGES",
    "bucket_of",
    "late_working_hours",
]

# Working hours late: (0,4], (4,8], (8,16], (16,40], more than 40.
BUCKET_EDGES = (0.0, 4.0, 8.0, 16.0, 40.0)
BUCKETS = ("(0,4]", "(4,8]", "(8,16]", "(16,40]", ">40")


def bucket_of(hours: float) -> int | None:
    """The index in ``BUCKETS`` of ``hours`` late; ``None`` when not late (0 or less)."""
    if hours <= BUCKET_EDGES[0]:
        return None
    for index, upper in enumerate(BUCKET_EDGES[1:]):
        if hours <= upper:
            return index
    return len(BUCKETS) - 1


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
