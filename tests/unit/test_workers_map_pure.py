"""The pure rules of the grid workers' page and the map: the working days coverage is measured
against, the quarter an assessment covers, which maps are drawn, and the GeoJSON they get."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.panels.mapview import (
    MAP_LEVELS,
    MapError,
    check_level,
    drawable,
    feature_collection,
    level_for,
)
from projections.panels.periods import Period, parse_period
from projections.panels.scope import CITY, Unit
from projections.panels.visiting import assessment_quarter, coverage, working_days

NOV = parse_period("month", "2026-11")  # starts on a Sunday: 21 weekdays


def test_a_month_has_its_weekdays_as_working_days() -> None:
    assert working_days(NOV) == 21
    assert working_days(parse_period("month", "2025-06")) == 21
    assert working_days(parse_period("day", "2026-11-28")) == 0  # a Saturday
    assert working_days(parse_period("day", "2026-11-30")) == 1


def test_a_running_period_counts_the_working_days_gone() -> None:
    assert working_days(NOV, through=date(2026, 11, 6)) == 5  # Mon 2 .. Fri 6
    assert working_days(NOV, through=date(2026, 11, 1)) == 0  # the Sunday it starts on
    assert working_days(NOV, through=date(2026, 12, 5)) == 21  # after it: the whole
    assert working_days(NOV, through=date(2026, 10, 5)) == 21  # before it: the whole


@given(st.dates(date(2001, 1, 1), date(2035, 12, 31)), st.integers(0, 400))
def test_working_days_are_the_weekdays_counted_one_by_one(start: date, length: int) -> None:
    period = Period("quarter", date(start.year, (start.month - 1) // 3 * 3 + 1, 1))
    through = period.start + timedelta(days=length)
    last = min(through, period.end - timedelta(days=1))
    expected = sum(
        1
        for i in range((last - period.start).days + 1)
        if (period.start + timedelta(days=i)).weekday() < 5
    )
    assert working_days(period, through) == expected


def test_coverage_is_the_share_of_working_days_visited() -> None:
    assert coverage(20, 21) == pytest.approx(20 / 21)
    assert coverage(0, 21) == 0.0
    assert coverage(0, 0) is None  # before the first working day


def test_the_assessment_covers_the_quarter_the_period_starts_in() -> None:
    assert assessment_quarter(NOV).label == "2026-Q4"
    assert assessment_quarter(parse_period("day", "2025-06-03")).label == "2025-Q2"
    assert assessment_quarter(parse_period("quarter", "2025-Q1")).label == "2025-Q1"


STREET = Unit("street", "zhenhai-s001")


def test_maps_are_drawn_at_or_below_the_unit_and_grids_never_for_the_whole_city() -> None:
    assert [lvl for lvl in MAP_LEVELS if drawable(CITY, lvl)] == ["district", "street", "village"]
    assert [lvl for lvl in MAP_LEVELS if drawable(STREET, lvl)] == ["street", "village", "grid"]
    with pytest.raises(MapError, match="12,216 grids"):
        check_level(CITY, "grid")
    with pytest.raises(MapError, match="no district lies within the street"):
        check_level(STREET, "district")
    with pytest.raises(MapError, match="not one of"):
        check_level(STREET, "worker")
    for unit in (Unit("department", "D-MINZHENG"), Unit("worker", "w-1")):
        with pytest.raises(MapError, match="inside a place"):
            check_level(unit, "grid")


def test_the_default_level_is_the_one_below_the_unit() -> None:
    assert level_for(CITY, None) == "district"
    assert level_for(STREET, None) == "village"
    assert level_for(Unit("village", "v"), None) == "grid"
    assert level_for(Unit("grid", "g"), None) == "grid"
    assert level_for(STREET, "grid") == "grid"
    with pytest.raises(MapError):
        level_for(CITY, "grid")


def test_shapes_become_features_named_by_code_for_the_values_to_join_on() -> None:
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    got = feature_collection(
        [{"code": "g1", "name": "第1网格", "parent_code": "v1", "geometry": square}]
    )
    assert got == {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "g1", "label": "第1网格"},
                "geometry": square,
            }
        ],
    }
    assert feature_collection([])["features"] == []
