"""Months and quarters as the rollups label them, and a date range cut into the pieces the
rollups can answer: whole quarters and months from ``stats_period`` and ``handling_hist``,
the days left over from the daily facts.

Labels are those of ``stats_daily``'s Asia/Shanghai days: ``2025-06`` and ``2025-Q2``; the
projector writes the same labels with PostgreSQL's ``to_char`` (``MONTH_SQL``, ``QUARTER_SQL``).
"""

from __future__ import annotations

from datetime import date
from typing import Literal, NamedTuple

from domain.stats_moves import quarter_of

__all__ = [
    "DAY_SQL",
    "MONTH_SQL",
    "QUARTER_SQL",
    "Span",
    "cover",
    "month_of",
    "quarter_of",
    "whole_period",
]

DAY_SQL = "to_char({}, 'YYYY-MM-DD')"
MONTH_SQL = "to_char({}, 'YYYY-MM')"
QUARTER_SQL = "to_char({}, 'YYYY-\"Q\"Q')"

Grain = Literal["day", "month", "quarter"]


class Span(NamedTuple):
    """A piece of a date range: a whole month or quarter (``kind`` month or quarter,
    ``period`` its label), or days (``kind`` days); ``label`` is the period of the grain
    asked for that it counts in."""

    kind: Literal["month", "quarter", "days"]
    period: str
    start: date
    end: date
    label: str


def month_of(day: date) -> str:
    """``2025-06`` for a day in June 2025."""
    return f"{day.year}-{day.month:02d}"


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def _next_quarter(day: date) -> date:
    start = _quarter_start(day)
    return _next_month(_next_month(_next_month(start)))


def whole_period(start: date, end: date) -> tuple[Literal["month", "quarter"], str] | None:
    """(kind, label) when [start, end) is exactly one month or one quarter, else None."""
    if start == _quarter_start(start) and end == _next_quarter(start):
        return "quarter", quarter_of(start)
    if start == _month_start(start) and end == _next_month(start):
        return "month", month_of(start)
    return None


def cover(start: date, end: date, grain: Literal["month", "quarter"]) -> list[Span]:
    """[start, end) as whole quarters (for the quarter grain), whole months and leftover days,
    each inside one period of ``grain``, in date order."""
    label_of = quarter_of if grain == "quarter" else month_of
    spans: list[Span] = []
    day = start
    while day < end:
        q_end, m_end = _next_quarter(day), _next_month(day)
        if grain == "quarter" and day == _quarter_start(day) and q_end <= end:
            spans.append(Span("quarter", quarter_of(day), day, q_end, label_of(day)))
            day = q_end
        elif day == _month_start(day) and m_end <= end:
            spans.append(Span("month", month_of(day), day, m_end, label_of(day)))
            day = m_end
        else:  # to the next month's start or the range's end
            stop = min(m_end, end)
            spans.append(Span("days", "", day, stop, label_of(day)))
            day = stop
    return spans
