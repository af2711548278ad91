"""Working-time arithmetic on the shipped 2025/2026 calendars: known dates and the laws."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import (
    SHANGHAI,
    CalendarYear,
    WorkCalendar,
    add_working_hours,
    calendar_from_definitions,
    is_working_day,
    local_date,
    working_hours_between,
)
from domain.errors import CalendarGap, InvalidCalendar, NaiveInstant
from processors.data import shipped_calendar_definitions

CAL = calendar_from_definitions(shipped_calendar_definitions())


def sh(*args: int) -> datetime:
    """An Asia/Shanghai wall-clock time as an aware UTC instant."""
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 1, 1), False),  # 元旦
        (date(2025, 1, 26), True),  # Sunday, make-up for the Spring Festival
        (date(2025, 1, 28), False),
        (date(2025, 2, 4), False),
        (date(2025, 2, 5), True),
        (date(2025, 2, 8), True),  # Saturday, make-up
        (date(2025, 4, 4), False),  # 清明
        (date(2025, 4, 27), True),  # Sunday, make-up for Labour Day
        (date(2025, 5, 5), False),
        (date(2025, 6, 2), False),  # 端午
        (date(2025, 9, 28), True),  # Sunday, make-up
        (date(2025, 10, 3), False),
        (date(2025, 10, 8), False),
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),  # Saturday, make-up
        (date(2025, 10, 12), False),  # plain Sunday
        (date(2025, 3, 8), False),  # plain Saturday
        (date(2025, 3, 7), True),  # plain Friday
        (date(2026, 1, 2), False),
        (date(2026, 1, 4), True),  # Sunday, make-up for New Year
        (date(2026, 2, 14), True),  # Saturday, make-up for the Spring Festival
        (date(2026, 2, 23), False),
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),
        (date(2026, 4, 6), False),
        (date(2026, 5, 9), True),
        (date(2026, 6, 19), False),
        (date(2026, 9, 20), True),
        (date(2026, 9, 25), False),
        (date(2026, 10, 7), False),
        (date(2026, 10, 10), True),
    ],
)
def test_known_days(day: date, working: bool) -> None:
    assert is_working_day(CAL, day) is working


def test_a_year_has_248_working_days() -> None:
    for year in (2025, 2026):
        days = [date(year, 1, 1) + timedelta(n) for n in range(365)]
        assert sum(is_working_day(CAL, d) for d in days) == 248


def test_four_hours_from_friday_afternoon_land_on_monday_morning() -> None:
    # Friday 16:00-17:30 is 1.5 h, Monday 08:30 + 2.5 h = 11:00.
    assert add_working_hours(CAL, sh(2025, 3, 7, 16, 0), 4) == sh(2025, 3, 10, 11, 0)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (sh(2025, 3, 7, 13, 30), 4, sh(2025, 3, 7, 17, 30)),  # a span's end, not Monday 08:30
        (sh(2025, 3, 7, 12, 0), 0.5, sh(2025, 3, 7, 14, 0)),  # lunch does not count
        (sh(2025, 3, 8, 10, 0), 1, sh(2025, 3, 10, 9, 30)),  # from a Saturday
        (sh(2025, 3, 7, 20, 0), 7.5, sh(2025, 3, 10, 17, 30)),  # a whole working day
        # the 2026 Spring Festival: Sat 14 Feb works, 15-23 Feb off, back on 24 Feb
        (sh(2026, 2, 13, 16, 30), 8.5, sh(2026, 2, 14, 17, 30)),
        (sh(2026, 2, 13, 16, 30), 9, sh(2026, 2, 24, 9, 0)),
        (sh(2025, 12, 31, 17, 0), 1, sh(2026, 1, 4, 9, 0)),  # new year, then Sunday make-up
        (sh(2025, 3, 10, 10, 30), -2, sh(2025, 3, 10, 8, 30)),  # backward: the latest instant
        (sh(2025, 3, 10, 9, 0), -1, sh(2025, 3, 7, 17, 0)),
        (sh(2025, 3, 8, 10, 0), 0, sh(2025, 3, 8, 10, 0)),
    ],
)
def test_add_working_hours(start: datetime, hours: float, due: datetime) -> None:
    assert add_working_hours(CAL, start, hours) == due


def test_between_is_exact_at_span_boundaries_and_signed() -> None:
    assert working_hours_between(CAL, sh(2025, 3, 7, 8, 30), sh(2025, 3, 7, 17, 30)) == 7.5
    assert working_hours_between(CAL, sh(2025, 3, 7, 12, 0), sh(2025, 3, 7, 13, 30)) == 0
    assert working_hours_between(CAL, sh(2025, 3, 10, 11, 0), sh(2025, 3, 7, 16, 0)) == -4
    assert working_hours_between(CAL, sh(2025, 9, 30, 17, 30), sh(2025, 10, 9, 8, 30)) == 0


def test_unknown_years_name_the_calendar_to_publish() -> None:
    with pytest.raises(CalendarGap) as gap:
        add_working_hours(CAL, sh(2027, 3, 1, 9, 0), 1)
    assert gap.value.year == 2027 and "CalendarDefined" in str(gap.value)
    with pytest.raises(CalendarGap) as gap:
        add_working_hours(CAL, sh(2026, 12, 31, 17, 0), 1)
    assert gap.value.year == 2027
    with pytest.raises(CalendarGap) as gap:
        add_working_hours(CAL, sh(2025, 1, 2, 9, 0), -2)
    assert gap.value.year == 2024
    with pytest.raises(CalendarGap):
        is_working_day(CAL, date(2024, 12, 31))
    only_2025_and_2027 = calendar_from_definitions(
        [
            d | {"year": y, "calendar_version": f"{y}.1", "holidays": [], "working_weekends": []}
            for d, y in zip(shipped_calendar_definitions(), (2025, 2027), strict=True)
        ]
    )
    with pytest.raises(CalendarGap) as gap:
        working_hours_between(only_2025_and_2027, sh(2025, 6, 2, 9, 0), sh(2027, 6, 2, 9, 0))
    assert gap.value.year == 2026


@given(st.datetimes(min_value=datetime(1985, 1, 1), max_value=datetime(2200, 1, 1)))
def test_the_local_date_of_a_utc_instant_is_its_date_in_shanghai(naive: datetime) -> None:
    instant = naive.replace(tzinfo=UTC)
    assert local_date(instant) == instant.astimezone(SHANGHAI).date()


def test_the_local_date_of_an_instant_in_another_zone_is_its_date_in_shanghai() -> None:
    new_york = datetime(2025, 3, 9, 12, 30, tzinfo=ZoneInfo("America/New_York"))  # EDT
    assert local_date(new_york) == date(2025, 3, 10)  # 00:30 the next day in Shanghai
    assert local_date(datetime(1990, 6, 1, 15, 30, tzinfo=UTC)) == date(1990, 6, 2)  # DST: +9


def test_naive_instants_are_refused() -> None:
    with pytest.raises(NaiveInstant):
        add_working_hours(CAL, datetime(2025, 3, 7, 9, 0), 1)
    with pytest.raises(NaiveInstant):
        local_date(datetime(2025, 3, 7, 9, 0))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"working_weekends": ["2025-03-07"]}, "weekends"),
        ({"holidays": ["2024-12-31"]}, "another year"),
        ({"holidays": ["2025-01-26"]}, "both"),
        ({"working_hours": []}, "at least one span"),
        (
            {
                "working_hours": [
                    {"start_minute": 600, "end_minute": 700},
                    {"start_minute": 650, "end_minute": 800},
                ]
            },
            "disjoint",
        ),
    ],
)
def test_contradictory_definitions_are_invalid(change: dict[str, object], problem: str) -> None:
    definition = shipped_calendar_definitions()[0] | change
    with pytest.raises(InvalidCalendar, match=problem):
        calendar_from_definitions([definition])


def test_a_later_definition_of_a_year_wins_and_versions_are_recorded() -> None:
    first, second = shipped_calendar_definitions()
    fixed = first | {"calendar_version": "2025.2", "holidays": []}
    cal = calendar_from_definitions([first, second, fixed])
    assert cal.version == "2025.2+2026.1"
    assert is_working_day(cal, date(2025, 10, 3))
    assert cal.version_for(sh(2025, 12, 30, 9, 0), sh(2026, 1, 5, 9, 0)) == "2025.2+2026.1"
    assert cal.version_for(sh(2026, 3, 2, 9, 0), sh(2026, 3, 3, 9, 0)) == "2026.1"
    with pytest.raises(InvalidCalendar):
        WorkCalendar((cal.years[0], cal.years[0]))
    assert isinstance(cal.years[0], CalendarYear)


# --- laws --------------------------------------------------------------------------------------
instants = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2026, 12, 31, 23, 59),
    timezones=st.just(SHANGHAI),
).map(lambda t: t.astimezone(UTC))
minutes = st.integers(min_value=-20_000, max_value=20_000)


@given(instants, minutes)
def test_add_then_between_gives_back_the_hours(start: datetime, delta: int) -> None:
    try:
        due = add_working_hours(CAL, start, delta / 60)
    except CalendarGap:
        return
    assert working_hours_between(CAL, start, due) == pytest.approx(delta / 60, abs=1e-9)
    assert (due >= start) if delta >= 0 else (due <= start)


@given(instants, instants)
def test_between_then_add_lands_on_the_same_working_position(a: datetime, b: datetime) -> None:
    back = add_working_hours(CAL, a, working_hours_between(CAL, a, b))
    assert working_hours_between(CAL, back, b) == pytest.approx(0, abs=1e-9)
    if is_working_day(CAL, local_date(b)):
        local = b.astimezone(SHANGHAI)
        minute = local.hour * 60 + local.minute
        if 510 < minute < 720 or 810 < minute < 1050:  # strictly inside a span: unique
            assert back == b


@given(instants, instants)
def test_an_instant_counts_the_same_in_utc_and_in_shanghai(a: datetime, b: datetime) -> None:
    # UTC instants take a path of their own to the local wall clock; others go through zoneinfo.
    a_utc, b_utc = a.astimezone(UTC), b.astimezone(UTC)
    a_sh, b_sh = a.astimezone(SHANGHAI), b.astimezone(SHANGHAI)
    assert working_hours_between(CAL, a_utc, b_utc) == working_hours_between(CAL, a_sh, b_sh)


@given(instants, instants, instants)
def test_between_is_additive(a: datetime, b: datetime, c: datetime) -> None:
    total = working_hours_between(CAL, a, b) + working_hours_between(CAL, b, c)
    assert total == pytest.approx(working_hours_between(CAL, a, c), abs=1e-9)


@given(instants, instants)
def test_between_is_antisymmetric_and_bounded(a: datetime, b: datetime) -> None:
    forward = working_hours_between(CAL, a, b)
    assert forward == -working_hours_between(CAL, b, a)
    assert abs(forward) <= abs((b - a).total_seconds()) / 3600


def test_fast_enough_for_millions_of_calls() -> None:
    import timeit

    start = sh(2025, 3, 7, 16, 0)
    per_call = timeit.timeit(lambda: add_working_hours(CAL, start, 37.5), number=20_000) / 20_000
    assert per_call < 50e-6  # measured around 3 µs
