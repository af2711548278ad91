"""Reporting periods in Asia/Shanghai: a day, a month or a quarter, the one before it (环比)
and the same one a year earlier (同比). Pure: parsing and arithmetic on dates only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from domain.calendar import SHANGHAI
from projections.periods import month_of, quarter_of

__all__ = ["KINDS", "Period", "PeriodError", "containing", "parse_period"]

Kind = Literal["day", "month", "quarter"]
KINDS: tuple[Kind, ...] = ("day", "month", "quarter")
_FORMS = {
    "day": (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "YYYY-MM-DD, e.g. 2025-06-03"),
    "month": (re.compile(r"^(\d{4})-(\d{2})$"), "YYYY-MM, e.g. 2025-06"),
    "quarter": (re.compile(r"^(\d{4})-Q([1-4])$"), "YYYY-Qn, e.g. 2025-Q2"),
}


class PeriodError(ValueError):
    """A period that cannot be read; says which form was expected."""


@dataclass(frozen=True, order=True)
class Period:
    """Local dates ``start`` (inclusive) to ``end`` (exclusive) of one day, month or quarter."""

    kind: Kind
    start: date

    @property
    def end(self) -> date:
        if self.kind == "day":
            return self.start + timedelta(days=1)
        months = 1 if self.kind == "month" else 3
        return _add_months(self.start, months)

    @property
    def start_at(self) -> datetime:
        """The instant the period starts: midnight of ``start`` in Asia/Shanghai."""
        return _midnight(self.start)

    @property
    def end_at(self) -> datetime:
        """The instant it ends (exclusive): midnight of ``end`` in Asia/Shanghai."""
        return _midnight(self.end)

    @property
    def label(self) -> str:
        """``2025-06-03``, ``2025-06`` or ``2025-Q2``: also the key of the period rollups."""
        if self.kind == "day":
            return self.start.isoformat()
        return (month_of if self.kind == "month" else quarter_of)(self.start)

    @property
    def label_zh(self) -> str:
        s = self.start
        if self.kind == "day":
            return f"{s.year}年{s.month}月{s.day}日"
        if self.kind == "month":
            return f"{s.year}年{s.month}月"
        return f"{s.year}年第{(s.month - 1) // 3 + 1}季度"

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def quarter(self) -> Period:
        """The quarter this period starts in (hot words and assessments are quarterly)."""
        return containing("quarter", self.start)

    def previous(self) -> Period:
        """The period just before (环比)."""
        if self.kind == "day":
            return Period("day", self.start - timedelta(days=1))
        return Period(self.kind, _add_months(self.start, -1 if self.kind == "month" else -3))

    def year_before(self) -> Period:
        """The same period a year earlier (同比); 29 February maps to 28 February."""
        s = self.start
        try:
            return Period(self.kind, s.replace(year=s.year - 1))
        except ValueError:
            return Period(self.kind, s.replace(year=s.year - 1, day=28))

    def next(self) -> Period:
        if self.kind == "day":
            return Period("day", self.end)
        return Period(self.kind, self.end)

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=SHANGHAI)


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def parse_period(kind: str, value: str) -> Period:
    """The period ``value`` of ``kind`` (day, month or quarter).

    Raises:
        PeriodError: an unknown kind, or a value not in the kind's form or not a real date.
    """
    if kind not in _FORMS:
        raise PeriodError(f"period kind {kind!r} is not one of {', '.join(KINDS)}")
    pattern, form = _FORMS[kind]
    match = pattern.match(value)
    if match is None:
        raise PeriodError(f"period {value!r} is not a {kind}: expected {form}")
    y, m, *rest = (int(g) for g in match.groups())
    try:
        if kind == "day":
            start = date(y, m, rest[0])
        elif kind == "month":
            start = date(y, m, 1)
        else:
            start = date(y, (m - 1) * 3 + 1, 1)
    except ValueError as exc:
        raise PeriodError(f"period {value!r} is not a real {kind}: {exc}") from exc
    if start.year < 2000:
        raise PeriodError(f"period {value!r} is before 2000")
    return Period(kind, start)  # type: ignore[arg-type]


def containing(kind: Kind, day: date) -> Period:
    """The ``kind`` period that ``day`` falls in."""
    if kind == "day":
        return Period("day", day)
    if kind == "month":
        return Period("month", day.replace(day=1))
    return Period("quarter", date(day.year, (day.month - 1) // 3 * 3 + 1, 1))
