"""Working-time arithmetic on China's official calendar, in Asia/Shanghai.

A ``WorkCalendar`` knows, per year, the statutory holidays, the make-up working weekend days
(调休) and the working spans of a working day (minutes of the local day). Instants are aware
datetimes (UTC in the log). Each run of consecutive known years is precomputed into one table
of cumulative working microseconds per local day, so an instant's *working position* is an
index plus a sum over at most a few spans, and the inverse is a bisect: no loops over minutes.
Arithmetic is in integer microseconds, exact at span boundaries.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.errors import CalendarGap, InvalidCalendar, NaiveInstant

__all__ = [
    "SHANGHAI",
    "CalendarYear",
    "WorkCalendar",
    "add_working_hours",
    "calendar_from_definitions",
    "is_working_day",
    "local_date",
    "working_hours_between",
    "year_from_definition",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
US_PER_MINUTE = 60_000_000
US_PER_HOUR = 3_600_000_000
MINUTES_PER_DAY = 24 * 60

Span = tuple[int, int]
"""A working span ``[start, end)`` in minutes of the local day, e.g. ``(510, 720)`` = 08:30–12:00."""


@dataclass(frozen=True)
class CalendarYear:
    """One year of the calendar: days off, make-up working days and the spans of a working day."""

    year: int
    version: str
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]
    spans: tuple[Span, ...]

    def __post_init__(self) -> None:
        outside = sorted(d for d in self.holidays | self.makeup_workdays if d.year != self.year)
        if outside:
            raise InvalidCalendar(f"calendar {self.year}: dates of another year {outside}")
        both = sorted(self.holidays & self.makeup_workdays)
        if both:
            raise InvalidCalendar(f"calendar {self.year}: both holiday and make-up day {both}")
        weekdays = sorted(d for d in self.makeup_workdays if d.weekday() < 5)
        if weekdays:
            raise InvalidCalendar(f"calendar {self.year}: make-up days must be weekends {weekdays}")
        if not self.spans:
            raise InvalidCalendar(f"calendar {self.year}: a working day needs at least one span")
        previous_end = 0
        for start, end in self.spans:
            if not previous_end <= start < end <= MINUTES_PER_DAY:
                raise InvalidCalendar(
                    f"calendar {self.year}: spans must be sorted, disjoint and within the day "
                    f"(minutes 0–1440), got {list(self.spans)}"
                )
            previous_end = end

    def is_working_day(self, day: date) -> bool:
        """Mon–Fri unless a statutory holiday; Sat/Sun only when a make-up working day."""
        if day in self.makeup_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


@dataclass(frozen=True)
class _Run:
    """Consecutive known years, as one table indexed by local day (ordinal - first_ordinal)."""

    first_year: int
    last_year: int
    first_ordinal: int
    cumulative: list[int]  # working µs before day i; one entry more than there are days
    day_spans: list[tuple[tuple[int, int], ...]]  # per day, in µs of the day; () when off


def _build_runs(years: dict[int, CalendarYear]) -> dict[int, _Run]:
    runs: dict[int, _Run] = {}
    ordered = sorted(years)
    while ordered:
        first = last = ordered.pop(0)
        while ordered and ordered[0] == last + 1:
            last = ordered.pop(0)
        first_ordinal = date(first, 1, 1).toordinal()
        cumulative, day_spans = [0], []
        for ordinal in range(first_ordinal, date(last, 12, 31).toordinal() + 1):
            day = date.fromordinal(ordinal)
            cal = years[day.year]
            spans = (
                tuple((s * US_PER_MINUTE, e * US_PER_MINUTE) for s, e in cal.spans)
                if cal.is_working_day(day)
                else ()
            )
            day_spans.append(spans)
            cumulative.append(cumulative[-1] + sum(e - s for s, e in spans))
        run = _Run(first, last, first_ordinal, cumulative, day_spans)
        runs.update({year: run for year in range(first, last + 1)})
    return runs


@dataclass(frozen=True)
class WorkCalendar:
    """The working calendar as a value: the years it knows, each with its own version.

    A deadline records ``version_for(start, due)`` (the versions of the years it spans), so
    that its due time can be recomputed exactly.
    """

    years: tuple[CalendarYear, ...]
    _runs: dict[int, _Run] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.years, key=lambda y: y.year))
        by_year = {y.year: y for y in ordered}
        if len(by_year) != len(ordered):
            raise InvalidCalendar(f"calendar years {[y.year for y in ordered]}: a year twice")
        object.__setattr__(self, "years", ordered)
        object.__setattr__(self, "_runs", _build_runs(by_year))

    @property
    def version(self) -> str:
        """The version of every year, e.g. ``2025.1+2026.1``."""
        return "+".join(y.version for y in self.years)

    def version_for(self, start: datetime, end: datetime) -> str:
        """The versions of the years from ``start`` to ``end`` (local), e.g. ``2025.1``."""
        first, last = sorted((local_date(start).year, local_date(end).year))
        return "+".join(self._year(year).version for year in range(first, last + 1))

    @property
    def known_years(self) -> tuple[int, ...]:
        """The years this calendar can compute in, ascending."""
        return tuple(sorted(self._runs))

    def _year(self, year: int) -> CalendarYear:
        for y in self.years:
            if y.year == year:
                return y
        raise CalendarGap(year)

    def _locate(self, instant: datetime, what: str) -> tuple[_Run, int]:
        """The run holding ``instant`` and the working µs from the run's start to it."""
        local = _wall_clock(instant, what)
        run = self._runs.get(local.year)
        if run is None:
            raise CalendarGap(local.year)
        index = local.toordinal() - run.first_ordinal
        tod = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond
        worked = 0
        for start, end in run.day_spans[index]:
            if tod <= start:
                break
            worked += (end if tod >= end else tod) - start  # noqa: FURB136 (hot path: no call)
        return run, run.cumulative[index] + worked


def local_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware instant."""
    return _wall_clock(instant, "instant").date()


def _wall_clock(instant: datetime, what: str) -> datetime:
    """The aware ``instant`` with Asia/Shanghai's wall-clock fields (its zone may differ)."""
    if instant.tzinfo is UTC and instant >= _FIXED_SINCE:  # what Avro gives: a 7x cheaper path
        return instant + _FIXED_OFFSET
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise NaiveInstant(what, instant)
    return instant.astimezone(SHANGHAI)


# Asia/Shanghai has kept UTC+8 since its last daylight-saving change, on 1991-09-14 17:00 UTC
# (the tz database; a unit test checks the two paths agree from then on).
_FIXED_SINCE = datetime(1992, 1, 1, tzinfo=UTC)
_FIXED_OFFSET = timedelta(hours=8)


def is_working_day(cal: WorkCalendar, day: date) -> bool:
    """Whether ``day`` (a local date) is a working day; ``CalendarGap`` for an unknown year."""
    return cal._year(day.year).is_working_day(day)


def add_working_hours(cal: WorkCalendar, start: datetime, hours: float) -> datetime:
    """The instant ``hours`` working hours after ``start`` (before it when negative), in UTC.

    Forward, the answer is the earliest such instant (a span's end, not the next span's start:
    4 h from Friday 13:30 is Friday 17:30); backward, the latest (2 h before Monday 10:30 is
    Monday 08:30). ``hours == 0`` returns ``start``. Hours are rounded to the microsecond.
    Raises ``CalendarGap`` naming the year whose CalendarDefined is missing.
    """
    run, position = cal._locate(start, "start")
    delta = round(hours * US_PER_HOUR)
    if delta == 0:
        return start.astimezone(UTC)
    target = position + delta
    cumulative = run.cumulative
    if delta > 0:
        if target > cumulative[-1]:
            raise CalendarGap(run.last_year + 1)
        index = bisect_left(cumulative, target) - 1
        rest = target - cumulative[index]
        for span_start, span_end in run.day_spans[index]:
            if rest <= span_end - span_start:
                break
            rest -= span_end - span_start
    else:
        if target < 0:
            raise CalendarGap(run.first_year - 1)
        index = bisect_right(cumulative, target) - 1
        rest = target - cumulative[index]
        for span_start, span_end in run.day_spans[index]:
            if rest < span_end - span_start:
                break
            rest -= span_end - span_start
    midnight = datetime.combine(date.fromordinal(run.first_ordinal + index), time(), SHANGHAI)
    return (midnight + timedelta(microseconds=span_start + rest)).astimezone(UTC)


def working_hours_between(cal: WorkCalendar, start: datetime, end: datetime) -> float:
    """Working hours from ``start`` to ``end``; negative when ``end`` is before ``start``.

    Additive: between(a, b) + between(b, c) == between(a, c). Raises ``CalendarGap`` when
    either end, or a year in between, is not in the calendar.
    """
    run_a, a = cal._locate(start, "start")
    run_b, b = cal._locate(end, "end")
    if run_a is not run_b:
        earlier = run_a if run_a.first_year < run_b.first_year else run_b
        raise CalendarGap(earlier.last_year + 1)
    return (b - a) / US_PER_HOUR


def _field(definition: object, name: str) -> Any:
    if isinstance(definition, Mapping):
        return definition[name]
    return getattr(definition, name)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def year_from_definition(definition: object) -> CalendarYear:
    """One ``CalendarYear`` from a CalendarDefined payload (a plain dict or the model)."""
    spans = tuple(
        (int(_field(span, "start_minute")), int(_field(span, "end_minute")))
        for span in _field(definition, "working_hours")
    )
    return CalendarYear(
        year=int(_field(definition, "year")),
        version=str(_field(definition, "calendar_version")),
        holidays=frozenset(_as_date(d) for d in _field(definition, "holidays")),
        makeup_workdays=frozenset(_as_date(d) for d in _field(definition, "working_weekends")),
        spans=spans,
    )


def calendar_from_definitions(definitions: Iterable[object]) -> WorkCalendar:
    """The calendar from CalendarDefined payloads, in log order: a later one for a year wins.

    Payloads are plain dicts (JSON: dates as ISO strings) or ``CalendarDefined`` models.
    Raises ``InvalidCalendar`` when a definition contradicts itself.
    """
    by_year: dict[int, CalendarYear] = {}
    for definition in definitions:
        year = year_from_definition(definition)
        by_year[year.year] = year
    return WorkCalendar(tuple(by_year.values()))
