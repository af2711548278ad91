"""The pure rules of the 排名, 超期 and 热词 pages: which levels rank within a unit and on which
sample, working hours late and their buckets, and how a hot word moved."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import SHANGHAI, calendar_from_definitions
from processors.data import shipped_calendar_definitions
from projections.panels.kpis import KPIS
from projections.panels.lateness import BUCKETS, bucket_of, late_working_hours
from projections.panels.periods import parse_period
from projections.panels.ranks import (
    LevelError,
    check_level,
    default_level,
    levels_within,
    parent_level,
    sample_counter,
)
from projections.panels.scope import CITY, Unit
from projections.panels.words import lexicons_of, quarter_of, ranked, with_changes

CALENDAR = calendar_from_definitions(shipped_calendar_definitions())


def _local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)  # type: ignore[misc]


def test_levels_ranked_within_a_unit_are_below_it() -> None:
    assert levels_within(CITY) == ("district", "street", "village", "department")
    assert levels_within(Unit("district", "d1")) == ("street", "village")
    assert levels_within(Unit("street", "s1")) == ("village", "grid", "worker")
    assert levels_within(Unit("grid", "g1")) == ("worker",)
    assert levels_within(Unit("department", "D1")) == ()
    assert [default_level(u) for u in (CITY, Unit("street", "s"), Unit("grid", "g"))] == [
        "district",
        "village",
        "worker",
    ]


def test_a_level_that_cannot_be_ranked_names_those_that_can() -> None:
    assert check_level(Unit("street", "s1"), "grid") == "grid"
    with pytest.raises(LevelError, match="choose one of street, village$") as caught:
        check_level(Unit("district", "d1"), "department")
    assert caught.value.allowed == ("street", "village")
    with pytest.raises(LevelError, match="choose one of district, street, village, department"):
        check_level(CITY, "worker")  # the city's workers are ranked street by street
    with pytest.raises(LevelError, match="nothing is ranked within department:D1"):
        check_level(Unit("department", "D1"), "worker")
    with pytest.raises(LevelError):
        check_level(CITY, "city")


def test_a_kpis_sample_is_its_denominator_or_its_base() -> None:
    assert sample_counter(KPIS["on_time_rate"]) == "due_to_close"
    assert sample_counter(KPIS["hand_offs"]) == "dispatched"
    assert sample_counter(KPIS["reported"]) == "reported"
    assert [parent_level(lvl) for lvl in ("worker", "grid", "street", "district")] == [
        "grid",
        "village",
        "district",
        None,
    ]


@pytest.mark.parametrize(
    ("hours", "bucket"),
    [(-1.0, None), (0.0, None), (0.01, 0), (4.0, 0), (4.01, 1), (8.0, 1), (16.0, 2), (40.0, 3)],
)
def test_hours_late_fall_in_their_bucket(hours: float, bucket: int | None) -> None:
    assert bucket_of(hours) == bucket
    assert bucket_of(40.5) == len(BUCKETS) - 1


@given(st.floats(min_value=0.001, max_value=1e6), st.floats(min_value=0.0, max_value=1e6))
def test_later_is_never_in_an_earlier_bucket(hours: float, more: float) -> None:
    assert bucket_of(hours + more) >= bucket_of(hours)  # type: ignore[operator]


def test_hours_late_are_counted_on_the_working_calendar() -> None:
    due = _local(2026, 11, 27, 16, 30)  # a Friday, an hour before the day's end
    now = _local(2026, 11, 30, 10, 30)  # Monday, two hours into the day
    assert late_working_hours(CALENDAR, "2026.1", due, now) == pytest.approx(3.0)
    assert late_working_hours(CALENDAR, "2026.1", now, due) == 0.0  # not due yet


def test_hours_late_are_not_guessed_on_another_calendar() -> None:
    due, now = _local(2026, 11, 27, 16, 30), _local(2026, 11, 30, 10, 30)
    assert late_working_hours(CALENDAR, "2026.9", due, now) is None
    assert late_working_hours(CALENDAR, "2026.1", due, _local(2031, 1, 5, 10)) is None


def test_a_word_moves_against_its_place_the_quarter_before() -> None:
    now = ranked(
        [
            {"word": "积水", "count": 9, "lexicons": ["v2"]},
            {"word": "台风", "count": 5, "lexicons": ["v1", "v2"]},
            {"word": "噪音", "count": 5, "lexicons": ["v2"]},
            {"word": "停车", "count": 2, "lexicons": ["v2"]},
        ]
    )
    then = ranked(
        [
            {"word": "台风", "count": 7, "lexicons": ["v1"]},
            {"word": "积水", "count": 6, "lexicons": ["v1"]},
            {"word": "噪音", "count": 1, "lexicons": ["v1"]},
        ]
    )
    rows = with_changes(now, then)
    assert [(r["rank"], r["word"], r["change"]) for r in rows] == [
        (1, "积水", "up"),
        (2, "台风", "down"),
        (3, "噪音", "same"),
        (4, "停车", "new"),
    ]
    assert rows[0]["previous_count"] == 6 and rows[3]["previous_rank"] is None
    assert lexicons_of(rows) == ["v1", "v2"]


def test_hot_words_are_counted_in_the_quarter_holding_the_period() -> None:
    assert quarter_of(parse_period("day", "2026-11-20")).label == "2026-Q4"
    assert quarter_of(parse_period("month", "2026-03")).start == date(2026, 1, 1)
