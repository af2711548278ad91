"""The dashboard's pure parts: periods and their neighbours, units and scopes, KPI values."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.panels.kpis import FLOWS, FUNNEL, KPIS, OVERVIEW_TILES, RANKABLE, KpiError, kpi
from projections.panels.periods import PeriodError, containing, parse_period
from projections.panels.scope import CITY, Scope, Unit, UnitError, child_level, parse_unit
from projections.panels.sources import NoChildUnits, ScopeRefused, period_source, rows_of


@pytest.mark.parametrize(
    ("kind", "value", "start", "end", "label_zh"),
    [
        ("day", "2025-06-03", date(2025, 6, 3), date(2025, 6, 4), "2025年6月3日"),
        ("month", "2025-12", date(2025, 12, 1), date(2026, 1, 1), "2025年12月"),
        ("quarter", "2025-Q4", date(2025, 10, 1), date(2026, 1, 1), "2025年第4季度"),
    ],
)
def test_a_period_is_read_with_its_local_dates(
    kind: str, value: str, start: date, end: date, label_zh: str
) -> None:
    p = parse_period(kind, value)
    assert (p.start, p.end, p.label, p.label_zh) == (start, end, value, label_zh)


@pytest.mark.parametrize(
    ("kind", "value", "says"),
    [
        ("week", "2025-06", "not one of day, month, quarter"),
        ("month", "2025-6", "expected YYYY-MM"),
        ("quarter", "2025-Q5", "expected YYYY-Qn"),
        ("day", "2025-02-30", "not a real day"),
        ("month", "1999-01", "before 2000"),
    ],
)
def test_a_bad_period_says_what_was_expected(kind: str, value: str, says: str) -> None:
    with pytest.raises(PeriodError, match=says):
        parse_period(kind, value)


@pytest.mark.parametrize(
    ("kind", "value", "start_at", "end_at"),
    [
        ("day", "2025-06-03", datetime(2025, 6, 2, 16, tzinfo=UTC), datetime(2025, 6, 3, 16)),
        ("quarter", "2025-Q4", datetime(2025, 9, 30, 16, tzinfo=UTC), datetime(2025, 12, 31, 16)),
    ],
)
def test_a_period_runs_from_midnight_to_midnight_in_shanghai(
    kind: str, value: str, start_at: datetime, end_at: datetime
) -> None:
    p = parse_period(kind, value)
    assert (p.start_at, p.end_at) == (start_at, end_at.replace(tzinfo=UTC))
    assert p.start_at.utcoffset() is not None and p.next().start_at == p.end_at


def test_neighbours_of_a_period() -> None:
    assert parse_period("month", "2025-01").previous().label == "2024-12"
    assert parse_period("quarter", "2025-Q1").previous().label == "2024-Q4"
    assert parse_period("day", "2025-03-01").previous().label == "2025-02-28"
    assert parse_period("quarter", "2025-Q3").year_before().label == "2024-Q3"
    assert parse_period("day", "2024-02-29").year_before().label == "2023-02-28"
    assert parse_period("month", "2025-12").next().label == "2026-01"


@given(
    st.dates(min_value=date(2001, 1, 1), max_value=date(2098, 12, 31)),
    st.sampled_from(["day", "month", "quarter"]),
)
def test_the_period_containing_a_day_holds_it_and_follows_its_previous(
    day: date, kind: str
) -> None:
    p = containing(kind, day)  # type: ignore[arg-type]
    assert p.contains(day)
    assert p.previous().end == p.start
    assert p.previous().end_at == p.start_at < p.end_at
    assert parse_period(kind, p.label) == p


def test_units_are_read_from_their_url_form() -> None:
    assert parse_unit("city") is CITY
    assert parse_unit("street:zhenhai-s001") == Unit("street", "zhenhai-s001")
    assert parse_unit("department:D-MZ").key == "department:D-MZ"
    with pytest.raises(UnitError, match="level one of district"):
        parse_unit("province:zj")
    with pytest.raises(UnitError, match="1-64 letters"):
        parse_unit("grid:a b")
    with pytest.raises(UnitError):
        parse_unit("grid")


def test_drill_down_goes_one_level_down_to_the_grid() -> None:
    assert [child_level(lvl) for lvl in ("city", "district", "street", "village", "grid")] == [
        "district",
        "street",
        "village",
        "grid",
        None,
    ]
    assert child_level("department") is None


def test_a_scope_limits_what_rows_a_panel_reads() -> None:
    street = Scope(place=Unit("street", "s1"))
    where, params = rows_of(Unit("grid", "g1"), street)
    assert "u.street_code = %(scope_place)s" in where and params["scope_place"] == "s1"
    with pytest.raises(ScopeRefused, match="does not cover the whole city"):
        rows_of(CITY, street)
    with pytest.raises(ScopeRefused, match="sees only department:D1"):
        rows_of(Unit("district", "d1"), Scope(department="D1"))
    with pytest.raises(UnitError):
        Scope(place=Unit("department", "D1"))


def test_rollups_are_chosen_by_the_period_kind() -> None:
    assert period_source(parse_period("day", "2025-06-03")).table == "stats_daily"
    month = period_source(parse_period("month", "2025-06"), parse_period("month", "2025-05"))
    assert (month.table, month.keys) == ("stats_period", ["2025-06", "2025-05"])
    with pytest.raises(ValueError, match="one kind"):
        period_source(parse_period("day", "2025-06-03"), parse_period("month", "2025-06"))


def test_kpis_are_derived_from_their_counters() -> None:
    assert kpi("on_time_rate").value(45, 50) == pytest.approx(0.9)
    assert kpi("on_time_rate").value(0, 0) is None
    assert kpi("handling_hours").value(600, 5) == pytest.approx(2.0)  # 600 min over 5 cases
    assert kpi("reported").value(7, None) == 7.0
    with pytest.raises(KpiError, match="is not one of reported"):
        kpi("nope")


def test_every_tile_funnel_step_and_rankable_kpi_is_declared() -> None:
    assert set(OVERVIEW_TILES) | {n for n, _ in FUNNEL} | set(FLOWS) | set(RANKABLE) <= set(KPIS)
    assert not {KPIS[n].kind for n in RANKABLE} & {"now"}


@pytest.mark.parametrize("level", ["grid", "department", "worker"])
def test_a_unit_with_nothing_below_it_has_no_drill_down(level: str) -> None:
    with pytest.raises(NoChildUnits, match="no child units"):
        rows_of(Unit(level, "x1"), Scope(), children=True)  # type: ignore[arg-type]
