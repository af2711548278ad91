"""The grid workers' page and the map, over HTTP against a real projection: visit progress,
the assessment, a worker's tracks and the map's values and points equal the SQL of the read
models behind them, and every bad parameter gets problem+json."""

from __future__ import annotations

from typing import Any

import pytest
from shapely.geometry import Point, shape

from tests.integration.dashboard_helpers import Dashboard, dashboard, pg_count

__all__ = ["dashboard"]

JUNE = {"period": "month", "at": "2025-06"}
DAY = {"period": "day", "at": "2025-06-03"}
STREET = "zhenhai-s001"
UNIT = {"unit": f"street:{STREET}"}


def _ok(d: Dashboard, path: str, **params: Any) -> dict[str, Any]:
    r = d.get(path, **params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["freshness"]["complete_to"] is not None
    return body


# --- 网格走访进度 ------------------------------------------------------------------------------
def test_each_grids_visits_households_and_coverage_equal_its_visits(d: Dashboard) -> None:
    body = _ok(d, "/api/v1/workers/grids", **UNIT, **JUNE)
    grids = pg_count(
        d, "SELECT count(*) FROM units WHERE level = 'grid' AND street_code = %s", STREET
    )
    assert body["extra"]["total"] == len(body["rows"]) == grids > 0
    expected = {
        g: (n, h, days)
        for g, n, h, days in d.sql(
            "SELECT grid_id, count(*), sum(households)::int, count(DISTINCT day) FILTER "
            "(WHERE extract(isodow FROM day) <= 5) FROM visits "
            "WHERE day >= '2025-06-01' AND day < '2025-07-01' GROUP BY 1"
        )
    }
    for row in body["rows"]:
        visits, households, days = expected.get(row["code"], (0, 0, 0))
        assert (row["visits"], row["households"]) == (visits, households)
        assert row["working_days_visited"] == days
        assert row["unvisited"] == (visits == 0)
        assert row["coverage"] == pytest.approx(days / row["working_days"])
    # June so far: the fortnight ends on Sunday 8 June, so Monday 2 to Friday 6
    assert {r["working_days"] for r in body["rows"]} == {5}
    assert body["extra"]["unvisited_total"] == sum(r["unvisited"] for r in body["rows"])


def test_grids_with_no_visit_come_first_and_pages_add_up(d: Dashboard) -> None:
    whole = _ok(d, "/api/v1/workers/grids", **UNIT, **DAY)["rows"]
    flags = [r["unvisited"] for r in whole]
    assert flags == sorted(flags, reverse=True)
    pages = [
        _ok(d, "/api/v1/workers/grids", limit=50, offset=o, **UNIT, **DAY)["rows"]
        for o in range(0, len(whole), 50)
    ]
    assert [r["code"] for page in pages for r in page] == [r["code"] for r in whole]


def test_before_the_log_every_grid_is_flagged_unvisited(d: Dashboard) -> None:
    body = _ok(d, "/api/v1/workers/grids", **UNIT, period="day", at="2025-05-20")
    assert body["rows"] and all(r["unvisited"] and r["visits"] == 0 for r in body["rows"])
    assert body["extra"]["unvisited_total"] == body["extra"]["total"] == len(body["rows"])
    panel = d.get("/panels/workers/grids", **UNIT, period="day", at="2025-05-20").text
    assert "无走访" in panel and "数据截至" in panel


@pytest.mark.parametrize(
    ("unit", "by", "child"),
    [("city", "district", "zhenhai"), ("district:zhenhai", "street", STREET)],
)
def test_above_a_street_progress_is_summed_per_child_unit(
    d: Dashboard, unit: str, by: str, child: str
) -> None:
    body = _ok(d, "/api/v1/workers/grids", unit=unit, **JUNE)
    grids = _ok(d, "/api/v1/workers/grids", **UNIT, **JUNE)
    assert body["extra"]["by"] == by and grids["extra"]["by"] == "grid"
    [row] = body["rows"]  # the fortnight's projection holds one street of one district
    assert (row["code"], row["by"], body["extra"]["total"]) == (child, by, 1)
    listed = grids["rows"]
    assert row["grids"] == len(listed) == grids["extra"]["total"]
    assert row["unvisited_grids"] == body["extra"]["unvisited_total"]
    assert row["unvisited_grids"] == grids["extra"]["unvisited_total"]
    for column in ("visits", "households", "working_days_visited", "workers"):
        assert row[column] == sum(r[column] for r in listed), column
    assert row["visited"] == len([r for r in listed if not r["unvisited"]]) > 0
    mean = sum(r["coverage"] for r in listed) / len(listed)
    assert row["coverage"] == pytest.approx(mean)
    panel = d.get("/panels/workers/grids", unit=unit, **JUNE).text
    assert f"/workers?unit={by}:{child}" in panel and "数据截至" in panel


@pytest.mark.parametrize(("unit", "by", "child"), [("city", "district", "zhenhai")])
def test_above_a_street_the_assessment_is_each_child_units_quarter(
    d: Dashboard, unit: str, by: str, child: str
) -> None:
    body = _ok(d, "/api/v1/workers/assessment", unit=unit, **JUNE)
    [row] = body["rows"]
    assert (row["code"], row["by"], body["extra"]["by"]) == (child, by, by)
    [(v, h, f, ver)] = d.sql(
        "SELECT visits, households, discovered, verifications FROM stats_period "
        "WHERE level = %s AND code = %s AND period = '2025-Q2'",
        by,
        child,
    )
    assert (row["visits"], row["households"], row["discovered"], row["verifications"]) == (
        v,
        h,
        f,
        ver,
    )
    workers = pg_count(d, "SELECT count(*) FROM units WHERE level = 'worker'")
    assert row["workers"] == workers > 500
    panel = d.get("/panels/workers/assessment", unit=unit, **JUNE).text
    assert f"/workers?unit={by}:{child}" in panel and "数据截至" in panel


# --- 考核 -------------------------------------------------------------------------------------
def test_the_assessment_is_the_quarter_of_each_worker_ranked_by_discovery_rate(
    d: Dashboard,
) -> None:
    pages = [
        _ok(d, "/api/v1/workers/assessment", min_visits=3, limit=500, offset=o, **UNIT, **JUNE)
        for o in (0, 500)
    ]
    body = {"extra": pages[0]["extra"], "rows": pages[0]["rows"] + pages[1]["rows"]}
    assert body["extra"]["quarter"] == "2025-Q2"
    workers = pg_count(
        d, "SELECT count(*) FROM units WHERE level = 'worker' AND street_code = %s", STREET
    )
    assert 500 < body["extra"]["total"] == len(body["rows"]) == workers <= 1000
    sums = {
        w: (v, h, f, ver, vot)
        for w, v, h, f, ver, vot in d.sql(
            "SELECT code, sum(visits)::int, sum(households)::int, sum(discovered)::int, "
            "sum(verifications)::int, sum(verifications_on_time)::int FROM stats_daily "
            "WHERE level = 'worker' "
            "AND day >= '2025-04-01' AND day < '2025-07-01' GROUP BY 1"
        )
    }
    for row in body["rows"]:
        v, h, f, ver, vot = sums.get(row["worker_id"], (0, 0, 0, 0, 0))
        got = (row["visits"], row["households"], row["discovered"])
        assert got == (v, h, f)
        assert (row["verifications"], row["verifications_on_time"]) == (ver, vot)
        assert row["discovery_rate"] == (pytest.approx(f / v) if v else None)
        assert (row["rank"] is not None) == (v >= 3)
    ranked = [r for r in body["rows"] if r["rank"] is not None]
    assert ranked and body["extra"]["ranked_total"] == len(ranked)
    assert ranked[0]["rank"] == 1
    rates = [r["discovery_rate"] for r in ranked]
    assert rates == sorted(rates, reverse=True)
    page = _ok(d, "/api/v1/workers/assessment", min_visits=3, limit=5, offset=5, **UNIT, **JUNE)
    assert [r["worker_id"] for r in page["rows"]] == [r["worker_id"] for r in body["rows"][5:10]]


# --- 走访轨迹 ---------------------------------------------------------------------------------
def test_a_workers_track_is_each_visit_of_the_day_as_recorded(d: Dashboard) -> None:
    worker, day = d.sql(
        "SELECT worker_id, day FROM visits v WHERE findings > 0 ORDER BY day, worker_id LIMIT 1"
    )[0]
    body = _ok(d, "/api/v1/workers/track", worker=worker, day=day.isoformat())
    expected = d.sql(
        "SELECT v.visit_id, t.points, t.items_checked, t.finding_case_ids, v.households "
        "FROM visits v JOIN visit_tracks t USING (visit_id) "
        "WHERE v.worker_id = %s AND v.day = %s ORDER BY v.started_at, v.visit_id",
        worker,
        day,
    )
    assert [r["visit_id"] for r in body["rows"]] == [e[0] for e in expected]
    for row, (_, points, items, findings, households) in zip(body["rows"], expected, strict=True):
        assert row["points"] == points and len(points) > 1
        assert row["items_checked"] == items and row["households"] == households
        assert sorted(f["case_id"] for f in row["findings"]) == sorted(findings)
    assert any(r["findings"] for r in body["rows"])
    # the grid it was walked in, under the track
    grids = body["extra"]["grids"]["features"]
    assert {g["properties"]["name"] for g in grids} == {r["grid_id"] for r in body["rows"]}
    outline = shape(grids[0]["geometry"])
    first = body["rows"][0]["points"][0]
    assert outline.buffer(1e-6).contains(Point(first[0], first[1]))
    page = d.get("/workers/track", worker=worker, day=day.isoformat())
    assert page.status_code == 200 and "/panels/workers/track?" in page.text
    panel = d.get("/panels/workers/track", worker=worker, day=day.isoformat()).text
    assert 'data-chart="track"' in panel and "数据截至" in panel
    assert all(f"/case/{c}" in panel for c in expected[0][3])


def test_a_day_without_visits_has_no_track(d: Dashboard) -> None:
    worker = d.sql("SELECT min(worker_id) FROM visits")[0][0]
    body = _ok(d, "/api/v1/workers/track", worker=worker, day="2025-05-01")
    assert body["rows"] == [] and body["extra"]["grids"]["features"] == []


# --- 地图 -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kpi", ["reported", "close_rate", "visits"])
def test_the_maps_values_are_each_units_kpi(d: Dashboard, kpi: str) -> None:
    body = _ok(d, "/api/v1/map/values", level="village", kpi=kpi, **UNIT, **DAY)
    assert body["extra"]["level"] == "village"
    sums = {
        code: (reported, closed, due, visits)  # 结案率: the day's cases due to close, closed
        for code, reported, closed, due, visits in d.sql(
            "SELECT code, reported, closed_of_due, due_to_close, visits FROM stats_daily "
            "WHERE level = 'village' AND day = '2025-06-03'"
        )
    }
    villages = pg_count(
        d, "SELECT count(*) FROM units WHERE level = 'village' AND street_code = %s", STREET
    )
    assert len(body["rows"]) == villages > 0
    for row in body["rows"]:
        reported, closed, due, visits = sums.get(row["code"], (0, 0, 0, 0))
        if kpi == "reported":
            assert row["value"] == reported
        elif kpi == "visits":
            assert row["value"] == visits
        else:
            assert row["value"] == (pytest.approx(closed / due) if due else None)
            assert row["value"] is None or 0 <= row["value"] <= 1


def test_the_grids_of_a_street_are_drawn_and_a_click_opens_each(d: Dashboard) -> None:
    body = _ok(d, "/api/v1/map/shapes", level="grid", **UNIT, **JUNE)
    grids = pg_count(
        d, "SELECT count(*) FROM units WHERE level = 'grid' AND street_code = %s", STREET
    )
    assert len(body["rows"]) + body["extra"]["missing"] == grids
    assert body["rows"] and all(
        r["geometry"]["type"] in ("Polygon", "MultiPolygon") for r in body["rows"]
    )
    panel = d.get("/panels/map/map", level="grid", kpi="reported", **UNIT, **DAY)
    assert panel.status_code == 200 and "data-geo=" in panel.text
    assert "/overview?unit=grid:__CODE__" in panel.text and "数据截至" in panel.text
    page = d.get("/map", **UNIT, **JUNE)
    assert page.status_code == 200 and "level=village" in page.text  # the level below


def test_the_periods_cases_are_points_where_they_were_reported_latest_first(d: Dashboard) -> None:
    body = _ok(d, "/api/v1/map/points", limit=10, **UNIT, **JUNE)
    total = pg_count(
        d,
        "SELECT count(*) FROM cases c JOIN case_locations USING (case_id) "
        "WHERE c.street_code = %s AND c.reported_at >= '2025-06-01 00:00+08' "
        "AND c.reported_at < '2025-07-01 00:00+08'",
        STREET,
    )
    assert body["extra"]["total"] == total > 10 and body["extra"]["drawn"] == 10
    times = [r["reported_at"] for r in body["rows"]]
    assert times == sorted(times, reverse=True)
    where = dict(d.sql("SELECT case_id, ARRAY[lon, lat] FROM case_locations"))
    assert all([r["lon"], r["lat"]] == where[r["case_id"]] for r in body["rows"])


# --- refusals ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "params", "status", "parameter"),
    [
        ("/api/v1/workers/grids", {"unit": "DEPT"}, 422, "unit"),
        ("/api/v1/workers/assessment", {"unit": "DEPT"}, 422, "unit"),
        ("/api/v1/workers/grids", {"unit": "grid:no-such-grid"}, 404, "unit"),
        ("/api/v1/workers/assessment", {"offset": "-1"}, 422, "offset"),
        ("/api/v1/workers/track", {"day": "2025-06-03"}, 422, "worker"),
        ("/api/v1/workers/track", {"worker": "a b", "day": "2025-06-03"}, 422, "worker"),
        ("/api/v1/workers/track", {"worker": "nobody", "day": "2025-06-03"}, 404, "worker"),
        ("/api/v1/workers/track", {"worker": "nobody"}, 422, "day"),
        ("/api/v1/workers/track", {"worker": "nobody", "day": "2025-06-31"}, 422, "day"),
        ("/api/v1/map/values", {"level": "county"}, 422, "level"),
        ("/api/v1/map/values", {"level": "grid"}, 422, "level"),  # grids of the whole city
        ("/api/v1/map/shapes", {"unit": f"street:{STREET}", "level": "district"}, 422, "level"),
        ("/api/v1/map/shapes", {"unit": "DEPT"}, 422, "level"),
        ("/api/v1/map/values", {"kpi": "nope"}, 422, "kpi"),
        ("/api/v1/map/points", {"limit": "0"}, 422, "limit"),
        ("/map", {"level": "grid"}, 422, "level"),
        ("/panels/map/map", {"level": "county"}, 422, "level"),
    ],
)
def test_bad_parameters_get_problem_details(
    d: Dashboard, path: str, params: dict[str, str], status: int, parameter: str
) -> None:
    if params.get("unit") == "DEPT":
        params = {**params, "unit": f"department:{_department(d)}"}
    r = d.get(path, **params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["detail"] and "Traceback" not in r.text
    assert body.get("parameter") == parameter or parameter in str(body.get("errors"))


@pytest.fixture
def d(dashboard: Dashboard) -> Dashboard:
    return dashboard


def _department(d: Dashboard) -> str:
    code: str = d.sql("SELECT min(code) FROM units WHERE level = 'department'")[0][0]
    return code
