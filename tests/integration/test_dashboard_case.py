"""One case's page over HTTP against a real projection: its header named from ``units``, every
step of its trace, its deadlines with the versions they were computed with, the submissions
to it that were refused; 404, 403 and 422 as problem+json."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from psycopg.rows import dict_row

from bench.canonical_log import canonical_events
from projections.panels.case_rules import deadline_state
from simulate.city import CityShape
from tests.integration.dashboard_helpers import DAYS, SEED, START, Dashboard, serve, served, stop
from tests.integration.projection_helpers import refusals

REFUSED_CASES = 3


@pytest.fixture(scope="module")
def dashboard(request: pytest.FixtureRequest) -> Iterator[Dashboard]:
    """The fortnight, with refusals of three cases' reports sent again (each written twice)
    and of a visit."""
    log = list(canonical_events(CityShape.zhuangshi(), SEED, START, DAYS))
    yield from served(request, [*log, *refusals(log, REFUSED_CASES)])


def _case(d: Dashboard, query: str) -> str:
    rows = d.sql(query)
    assert rows, query
    return str(rows[0][0])


def _api(d: Dashboard, case_id: str) -> dict[str, Any]:
    r = d.get(f"/api/v1/cases/{case_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_the_page_shows_every_step_of_the_trace_and_flags_late_posts(dashboard: Dashboard) -> None:
    case_id = _case(
        dashboard,
        "SELECT case_id FROM case_timeline GROUP BY case_id "
        "HAVING bool_or(recorded_time - event_time > interval '1 hour') "
        "ORDER BY count(*) DESC, case_id LIMIT 1",
    )
    steps = dashboard.sql(
        "SELECT sequence, event_id, recorded_time - event_time > interval '1 hour' "
        "FROM case_timeline WHERE case_id = %s ORDER BY sequence",
        case_id,
    )
    page = dashboard.get(f"/case/{case_id}")
    assert page.status_code == 200 and "全程留痕" in page.text
    assert f"/panels/case/trace?case_id={case_id}" in page.text

    panel = dashboard.get("/panels/case/trace", case_id=case_id).text
    shown = re.findall(r'data-sequence="(\d+)" data-event-id="([^"]+)"', panel)
    assert [(int(s), e) for s, e in shown] == [(s, e) for s, e, _ in steps]
    assert panel.count('class="tag bad late"') == sum(late for *_, late in steps) > 0
    assert "数据截至" in panel

    body = _api(dashboard, case_id)
    assert [(t["sequence"], t["event_id"], t["late"]) for t in body["trace"]] == steps
    assert body["trace"][0]["event_type"] == "CaseReported"
    assert body["freshness"]["complete_to"] is not None


def test_the_header_names_the_case_s_places_from_units(dashboard: Dashboard) -> None:
    case_id = _case(
        dashboard, "SELECT case_id FROM cases WHERE status = 'closed' ORDER BY case_id LIMIT 1"
    )
    ((grid, village, street, district, title),) = dashboard.sql(
        "SELECT g.name, v.name, s.name, d.name, c.title FROM cases c "
        "JOIN units g ON g.level = 'grid' AND g.code = c.grid_id "
        "JOIN units v ON v.level = 'village' AND v.code = c.village_code "
        "JOIN units s ON s.level = 'street' AND s.code = c.street_code "
        "JOIN units d ON d.level = 'district' AND d.code = c.district_code "
        "WHERE c.case_id = %s",
        case_id,
    )
    head = _api(dashboard, case_id)["header"]
    assert (head["grid_name"], head["village_name"], head["street_name"]) == (grid, village, street)
    assert head["district_name"] == district and head["status"] == "closed"
    panel = dashboard.get("/panels/case/header", case_id=case_id).text
    assert f"{district} › {street} › {village} › {grid}" in panel
    assert title in panel and "已结案" in panel and "数据截至" in panel
    page = dashboard.get(f"/case/{case_id}").text  # the breadcrumb: the case's place
    assert all(name in page for name in (district, street, village, grid))


def test_each_deadline_shows_its_status_lateness_and_versions(dashboard: Dashboard) -> None:
    case_id = _case(
        dashboard,
        "SELECT case_id FROM deadlines GROUP BY case_id "
        "ORDER BY count(*) FILTER (WHERE breached_at IS NOT NULL) DESC, count(*) DESC, case_id "
        "LIMIT 1",
    )
    with dashboard.world.conn() as c, c.cursor(row_factory=dict_row) as cur:
        cur.execute(f'SET search_path TO "{dashboard.schema}"')
        stored = cur.execute("SELECT * FROM deadlines WHERE case_id = %s", (case_id,)).fetchall()
    rows = {r["deadline_id"]: r for r in stored}
    shown = _api(dashboard, case_id)["deadlines"]
    assert sorted(d["deadline_id"] for d in shown) == sorted(rows)
    for d in shown:
        row = rows[d["deadline_id"]]
        assert d["status"] == deadline_state(row)
        assert (d["policy_id"], d["policy_version"], d["calendar_version"]) == (
            row["policy_id"],
            row["policy_version"],
            row["calendar_version"],
        )
        assert d["working_hours"] == row["working_hours"]
        assert d["lateness_hours"] == row["lateness_hours"]
    assert "breached" in {d["status"] for d in shown}
    panel = dashboard.get("/panels/case/deadlines", case_id=case_id).text
    statuses = re.findall(r'data-deadline-id="([^"]+)" data-status="(\w+)"', panel)
    assert statuses == [(d["deadline_id"], d["status"]) for d in shown]
    for row in rows.values():
        assert f"{row['policy_id']} v{row['policy_version']} / {row['calendar_version']}" in panel
    assert "已超时" in panel and "数据截至" in panel


def test_a_refused_submission_is_listed_on_its_case(dashboard: Dashboard) -> None:
    refused = dashboard.sql(
        "SELECT case_id, submission_event_id, code, source_system FROM rejections "
        "WHERE case_id IS NOT NULL ORDER BY case_id"
    )
    assert len(refused) == REFUSED_CASES  # each written twice, kept once
    assert dashboard.sql("SELECT count(*) FROM rejections WHERE case_id IS NULL") == [(1,)]
    case_id, submission, code, source = refused[0]
    body = _api(dashboard, case_id)
    assert [
        (r["submission_event_id"], r["code"], r["source_system"], r["event_type"])
        for r in body["rejections"]
    ] == [(submission, code, source, "CaseReported")]
    assert code == "CASE_EXISTS" and "already exists" in body["rejections"][0]["message"]
    panel = dashboard.get("/panels/case/rejections", case_id=case_id).text
    assert f'data-event-id="{submission}"' in panel and code in panel and "数据截至" in panel
    # The refusal is not a step of the case: its trace is the canonical log's alone.
    steps = dashboard.sql("SELECT count(*) FROM case_timeline WHERE case_id = %s", case_id)
    assert [(len(body["trace"]),)] == steps


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in r.text
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["detail"] and body["parameter"] == "case_id"
    return body


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/cases/{}",
        "/case/{}",
        "/panels/case/header?case_id={}",
        "/panels/case/trace?case_id={}",
        "/panels/case/deadlines?case_id={}",
        "/panels/case/rejections?case_id={}",
    ],
)
def test_an_unknown_case_is_404_and_a_malformed_id_422(dashboard: Dashboard, path: str) -> None:
    def get(case_id: str) -> httpx.Response:
        return httpx.get(dashboard.url + path.format(case_id), timeout=30)

    body = _problem(get("c-no-such-case"), 404)
    assert "c-no-such-case" in body["detail"]
    _problem(get("not%20an%20id"), 422)
    _problem(get("c" * 65), 422)
    _problem(get("c-1%0A"), 422)  # no line break after an id either


def test_a_panel_needs_a_case_and_a_panel_that_exists(dashboard: Dashboard) -> None:
    _problem(httpx.get(f"{dashboard.url}/panels/case/trace", timeout=30), 422)
    r = httpx.get(f"{dashboard.url}/panels/case/summary?case_id=c-1", timeout=30)
    assert r.status_code == 422 and r.json()["parameter"] == "panel"
    assert set(r.json()["errors"][0]["detail"].split("'")[1::2]) == {
        "header",
        "trace",
        "deadlines",
        "rejections",
    }


def test_a_case_outside_the_viewer_s_scope_is_403(dashboard: Dashboard) -> None:
    mine, grid, department = dashboard.sql(
        "SELECT case_id, grid_id, department_code FROM cases "
        "WHERE department_code IS NOT NULL ORDER BY case_id LIMIT 1"
    )[0]
    other = _case(
        dashboard,
        f"SELECT case_id FROM cases WHERE grid_id <> '{grid}' "
        f"AND coalesce(department_code, '') <> '{department}' ORDER BY case_id LIMIT 1",
    )
    url, process = serve(dashboard.world, FQ_DASHBOARD_SCOPE=f"grid:{grid}+department:{department}")
    try:
        for path in ("/api/v1/cases/{}", "/case/{}", "/panels/case/trace?case_id={}"):
            assert httpx.get(url + path.format(mine), timeout=30).status_code == 200
            body = _problem(httpx.get(url + path.format(other), timeout=30), 403)
            assert other in body["detail"]
    finally:
        stop(process)
