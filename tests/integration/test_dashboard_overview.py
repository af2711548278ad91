"""The overview and the drill, over HTTP against a real projection: every tile equals the SQL
behind it, every number opens to exactly its cases, and bad parameters get problem+json."""

from __future__ import annotations

import pytest

from tests.integration.dashboard_helpers import Dashboard, dashboard, pg_count

__all__ = ["dashboard"]

JUNE = {"period": "month", "at": "2025-06"}


def _tiles(d: Dashboard, **params: str) -> dict[str, dict[str, object]]:
    r = d.get("/api/v1/overview/tiles", **params)
    assert r.status_code == 200, r.text
    return {t["kpi"]: t for t in r.json()["rows"]}


def test_the_city_tiles_equal_the_read_models(dashboard: Dashboard) -> None:
    tiles = _tiles(dashboard, **JUNE)
    reported = pg_count(
        dashboard,
        "SELECT count(*) FROM cases WHERE reported_at >= '2025-06-01 00:00+08' "
        "AND reported_at < '2025-07-01 00:00+08'",
    )
    assert reported > 0 and tiles["reported"]["value"] == reported
    closed = pg_count(
        dashboard,
        "SELECT coalesce(sum(closed), 0) FROM stats_daily WHERE level = 'district' "
        "AND day >= '2025-06-01' AND day < '2025-07-01'",
    )
    assert tiles["closed"]["value"] == closed
    open_now = pg_count(
        dashboard, "SELECT count(*) FROM cases WHERE status NOT IN ('rejected', 'closed')"
    )
    assert tiles["open"]["value"] == open_now
    # the close rates' cohort: the cases first dispatched in June, and of them those closed
    due, closed_of_due, on_time = dashboard.sql(
        "SELECT count(*), count(*) FILTER (WHERE status = 'closed'), "
        "count(*) FILTER (WHERE status = 'closed' AND on_time) FROM cases "
        "WHERE first_dispatched_at >= '2025-06-01 00:00+08' "
        "AND first_dispatched_at < '2025-07-01 00:00+08'"
    )[0]
    assert due >= closed_of_due > on_time > 0  # the fortnight closes every case it dispatched
    assert tiles["close_rate"]["value"] == pytest.approx(closed_of_due / due)
    assert tiles["on_time_rate"]["value"] == pytest.approx(on_time / due)
    assert tiles["close_rate"]["sample"] == tiles["on_time_rate"]["sample"] == due


def test_no_close_rate_passes_100_percent_on_any_day_or_unit(dashboard: Dashboard) -> None:
    """Closed over dispatched on the same day passed 100% where cases dispatched on earlier
    days were closed; the cohort's closed cases are always some of its own."""
    rows = dashboard.sql(
        "SELECT level, code, day, due_to_close, closed_of_due, closed_on_time_of_due, "
        "dispatched, closed FROM stats_daily WHERE level <> 'worker'"
    )
    assert any(closed > dispatched for *_, dispatched, closed in rows)  # the old ratio did
    for level, code, day, due, closed, on_time, *_ in rows:
        assert 0 <= on_time <= closed <= due, (level, code, day)
    for at in ("2025-06-02", "2025-06-05"):
        for tile in ("close_rate", "on_time_rate"):
            value = _tiles(dashboard, period="day", at=at)[tile]["value"]
            assert value is None or 0 <= value <= 1  # type: ignore[operator]


@pytest.mark.parametrize(
    ("unit", "kpi", "part"),
    [
        ("city", "reported", "numerator"),
        ("city", "close_rate", "denominator"),
        ("city", "on_time_rate", "left_out"),
        ("city", "on_time_rate", "numerator"),
        ("street:zhenhai-s001", "dispatched", "numerator"),
        ("department:__DEPT__", "close_rate", "numerator"),
        ("department:__DEPT__", "dispatched", "numerator"),
        # a department's reports are counted from its cases, its resolutions by its counters
        ("department:__DEPT__", "reported", "numerator"),
        ("department:__DEPT__", "discovery_rate", "numerator"),
        ("department:__DEPT__", "on_time_rate", "numerator"),
        ("department:__DEPT__", "on_time_rate", "denominator"),
        # the funnel's cohort: the cases reported in June, by how far they got
        ("city", "funnel_closed", "numerator"),
        ("street:zhenhai-s001", "funnel_resolved", "numerator"),
        ("department:__DEPT__", "funnel_dispatched", "numerator"),
    ],
)
def test_a_drills_total_is_the_count_of_the_cases_it_lists(
    dashboard: Dashboard, unit: str, kpi: str, part: str
) -> None:
    """A place's total is its counter, a department's its counter where that credits the
    department the facts are matched on, else counted from its cases or the facts: either way
    the cases listed page after page are exactly that many."""
    if "__DEPT__" in unit:
        [(dept,)] = dashboard.sql(
            "SELECT department_code FROM cases WHERE department_code IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        )
        unit = f"department:{dept}"
    listed: list[str] = []
    total = None
    while total is None or len(listed) < total:
        r = dashboard.get(
            "/api/v1/drill", unit=unit, kpi=kpi, part=part, limit=500, offset=len(listed), **JUNE
        )
        assert r.status_code == 200, r.text
        body = r.json()
        total = body["extra"]["total"]
        if not body["rows"]:
            break
        listed += [row["case_id"] for row in body["rows"]]
    assert total and len(listed) == total


def test_the_funnel_is_the_months_reports_by_how_far_they_got(dashboard: Dashboard) -> None:
    """The funnel counts the cases reported in the period at each stage they have got through
    with every stage before it, so it never widens (a funnel of the month's events did: June
    closed cases reported in May)."""
    r = dashboard.get("/api/v1/overview/funnel", **JUNE)
    assert r.status_code == 200, r.text
    counts = [row["count"] for row in r.json()["rows"]]
    labels = [row["label"] for row in r.json()["rows"]]
    assert labels == ["上报", "立案", "派遣", "处置", "核查", "结案"]
    june = "reported_at >= '2025-06-01 00:00+08' AND reported_at < '2025-07-01 00:00+08'"
    expected = dashboard.sql(
        "SELECT count(*), count(*) FILTER (WHERE accepted_at IS NOT NULL), "
        "count(*) FILTER (WHERE accepted_at IS NOT NULL AND first_dispatched_at IS NOT NULL), "
        "count(*) FILTER (WHERE accepted_at IS NOT NULL AND first_dispatched_at IS NOT NULL "
        "AND resolved_at IS NOT NULL), "
        "count(*) FILTER (WHERE accepted_at IS NOT NULL AND first_dispatched_at IS NOT NULL "
        "AND resolved_at IS NOT NULL AND verified_at IS NOT NULL), "
        "count(*) FILTER (WHERE accepted_at IS NOT NULL AND first_dispatched_at IS NOT NULL "
        f"AND resolved_at IS NOT NULL AND verified_at IS NOT NULL AND status = 'closed') "
        f"FROM cases WHERE {june}"
    )[0]
    assert counts == list(expected)
    assert counts == sorted(counts, reverse=True) and counts[-1] > 0
    # the month's events are another thing: more closures than the month's reports reached
    closed_in_june = pg_count(
        dashboard,
        "SELECT coalesce(sum(closed), 0) FROM stats_daily WHERE level = 'district' "
        "AND day >= '2025-06-01' AND day < '2025-07-01'",
    )
    assert closed_in_june != counts[-1]


def test_each_tile_compares_with_the_month_before(dashboard: Dashboard) -> None:
    june, may = _tiles(dashboard, **JUNE), _tiles(dashboard, period="month", at="2025-05")
    assert june["reported"]["previous"] == may["reported"]["value"]
    assert june["reported"]["mom_change"] == pytest.approx(
        (june["reported"]["value"] - may["reported"]["value"]) / may["reported"]["value"]  # type: ignore[operator]
    )
    assert june["reported"]["yoy_change"] is None  # nothing a year before


@pytest.mark.parametrize("kpi", ["reported", "dispatched", "closed", "hand_offs", "open"])
def test_a_number_drills_to_exactly_its_cases(dashboard: Dashboard, kpi: str) -> None:
    tiles = _tiles(dashboard, **JUNE)
    r = dashboard.get("/api/v1/drill", kpi=kpi, limit=500, **JUNE)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["extra"]["total"] == tiles[kpi]["value"]
    assert len(body["rows"]) == min(500, body["extra"]["total"])


def test_a_rate_drills_to_numerator_denominator_and_those_left_out(dashboard: Dashboard) -> None:
    tiles = _tiles(dashboard, **JUNE)
    parts = {
        part: dashboard.get(
            "/api/v1/drill", kpi="on_time_rate", part=part, limit=500, **JUNE
        ).json()
        for part in ("numerator", "denominator", "left_out")
    }
    num, den, out = (parts[p]["extra"]["total"] for p in ("numerator", "denominator", "left_out"))
    assert den == tiles["on_time_rate"]["sample"]
    assert num / den == pytest.approx(tiles["on_time_rate"]["value"])
    assert out == den - num
    assert {r["left_out_why"] for r in parts["left_out"]["rows"]} <= {"尚未结案或未按期办结"}
    left_out = {r["case_id"] for r in parts["left_out"]["rows"]}
    assert left_out == {r["case_id"] for r in parts["denominator"]["rows"]} - {
        r["case_id"] for r in parts["numerator"]["rows"]
    }


def test_drilling_down_reaches_a_grid_and_its_cases(dashboard: Dashboard) -> None:
    unit = "city"
    for _ in range(4):  # district, street, village, grid
        rows = dashboard.get("/api/v1/overview/children", unit=unit, **JUNE).json()["rows"]
        assert rows, f"{unit} has no children"
        busiest = max(rows, key=lambda r: r["reported"] or 0)
        level = {"city": "district", "district": "street", "street": "village", "village": "grid"}[
            unit.split(":")[0]
        ]
        unit = f"{level}:{busiest['code']}"
    grid = unit.split(":")[1]
    drill = dashboard.get("/api/v1/drill", unit=unit, kpi="reported", **JUNE).json()
    assert {r["grid_id"] for r in drill["rows"]} == {grid}
    crumbs = dashboard.get("/api/v1/unit", unit=unit, **JUNE).json()["rows"]
    assert [c["level"] for c in crumbs] == ["district", "street", "village", "grid"]


def test_every_panel_says_how_fresh_it_is(dashboard: Dashboard) -> None:
    latest = dashboard.sql("SELECT max(max_event_time) FROM checkpoints")[0][0]
    for panel in ("tiles", "funnel", "trend", "children"):
        fresh = dashboard.get(f"/api/v1/overview/{panel}", **JUNE).json()["freshness"]
        assert fresh["complete_to"] is not None
        assert fresh["stale"] is False and fresh["behind"] == 0
    page = dashboard.get("/panels/overview/tiles", **JUNE).text
    assert "数据截至" in page and latest is not None


@pytest.mark.parametrize(
    ("params", "status", "parameter"),
    [
        ({"unit": "province:zj"}, 422, "unit"),
        ({"unit": "grid:no-such-grid"}, 404, "unit"),
        ({"period": "week"}, 422, "period"),
        ({"period": "month", "at": "2025-13"}, 422, "at"),
        ({"period": "quarter", "at": "2025-06"}, 422, "at"),
    ],
)
def test_bad_parameters_get_problem_details(
    dashboard: Dashboard, params: dict[str, str], status: int, parameter: str
) -> None:
    r = dashboard.get("/api/v1/overview/tiles", **params)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["parameter"] == parameter and body["detail"]
    assert "Traceback" not in r.text


def test_an_unknown_kpi_or_part_is_refused(dashboard: Dashboard) -> None:
    r = dashboard.get("/api/v1/drill", kpi="nope", **JUNE)
    assert (r.status_code, r.json()["parameter"]) == (422, "kpi")
    assert "reported" in r.json()["allowed"]
    r = dashboard.get("/api/v1/drill", kpi="reported", part="denominator", **JUNE)
    assert (r.status_code, r.json()["parameter"]) == (422, "part")


@pytest.mark.parametrize("unit", ["grid:no-children", "department:law-enforcement"])
def test_a_unit_with_nothing_below_it_has_no_children_panel(
    dashboard: Dashboard, unit: str
) -> None:
    grid = dashboard.sql("SELECT code FROM units WHERE level = 'grid' LIMIT 1")[0][0]
    unit = unit.replace("no-children", grid)
    r = dashboard.get("/api/v1/overview/children", unit=unit, **JUNE)
    assert r.status_code == 422, r.text
    assert r.json()["parameter"] == "unit" and "no child units" in r.json()["detail"]
    assert "Traceback" not in r.text


def test_the_flagged_hand_offs_panel_lists_the_period_s_flagged_cases(dashboard: Dashboard) -> None:
    flagged = [
        case_id
        for (case_id,) in dashboard.sql(
            "SELECT case_id FROM cases WHERE handoff_flagged_at >= '2025-06-01T00:00+08:00' "
            "AND handoff_flagged_at < '2025-07-01T00:00+08:00' "
            "ORDER BY handoff_flagged_at DESC, case_id"
        )
    ]
    counted = dashboard.sql(
        "SELECT coalesce(sum(handoffs_flagged), 0) FROM stats_period "
        "WHERE level = 'district' AND period = '2025-06'"
    )[0][0]
    api = dashboard.get("/api/v1/overview/handoffs", **JUNE).json()
    assert [r["case_id"] for r in api["rows"]] == flagged
    assert api["extra"]["total"] == len(flagged) == counted  # the list is the counter's cases
    assert api["freshness"]["complete_to"] is not None
    page = dashboard.get("/panels/overview/handoffs", **JUNE)
    assert page.status_code == 200 and "多次推诿" in page.text and "数据截至" in page.text
    assert all(f'data-case="{case_id}"' in page.text for case_id in flagged)
    (worker,) = dashboard.sql("SELECT code FROM units WHERE level = 'worker' LIMIT 1")[0]
    refused = dashboard.get("/api/v1/overview/handoffs", unit=f"worker:{worker}", **JUNE)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
