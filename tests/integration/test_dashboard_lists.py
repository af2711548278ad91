"""The 排名, 超期 and 热词 pages over HTTP against a real projection: every number equals the
SQL of the read models behind it, rankings keep small samples unranked, lateness comes in
bucket order, hot words break ties by the word, and every bad parameter gets problem+json."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from html import escape
from typing import Any

import pytest

from bench.canonical_log import canonical_events
from events.models import DeadlineBreached, Event
from simulate.city import CityShape
from tests.integration.dashboard_helpers import DAYS, SEED, START, Dashboard, pg_count, served

JUNE = {"period": "month", "at": "2025-06"}
BUCKETS = ["(0,4]", "(4,8]", "(8,16]", "(16,40]", ">40"]


def _left_open_when_breached(
    events: Iterable[tuple[str, Event]],
) -> Iterator[tuple[str, Event]]:
    """The log with every other case whose deadline was breached cut after the breach: its
    deadline is still running and late, as an open case's would be (the fortnight closes every
    case); the others go on to meet theirs late."""
    cut: set[str] = set()
    breached: set[str] = set()
    for stream, event in events:
        if stream == "case":
            case_id = event.key()
            if case_id in cut:
                continue
            if isinstance(event, DeadlineBreached) and case_id not in breached:
                breached.add(case_id)
                if len(breached) % 2:
                    cut.add(case_id)
        yield stream, event


@pytest.fixture(scope="module")
def dashboard(request: pytest.FixtureRequest) -> Iterator[Dashboard]:
    """The Zhuangshi fortnight with its breached cases left open, projected and served."""
    events = canonical_events(CityShape.zhuangshi(), SEED, START, DAYS)
    yield from served(request, _left_open_when_breached(events))


def _ok(d: Dashboard, path: str, **params: Any) -> dict[str, Any]:
    r = d.get(path, **params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["freshness"]["complete_to"] is not None
    return body


def _street(d: Dashboard) -> str:
    return str(d.sql("SELECT code FROM units WHERE level = 'street' ORDER BY code LIMIT 1")[0][0])


def _ranking(d: Dashboard, **params: Any) -> list[dict[str, Any]]:
    if params.get("level") in ("grid", "worker"):  # ranked within a street or below
        params.setdefault("unit", f"street:{_street(d)}")
    rows: list[dict[str, Any]] = _ok(d, "/api/v1/rankings", limit=500, **params)["rows"]
    return rows


# --- 排名 --------------------------------------------------------------------------------
def test_a_rate_ranking_equals_the_rollups_and_leaves_small_samples_unranked(
    dashboard: Dashboard,
) -> None:
    street = _street(dashboard)
    body = _ok(
        dashboard,
        "/api/v1/rankings",
        unit=f"street:{street}",
        level="grid",
        kpi="on_time_rate",
        min_sample=5,
        limit=500,
        **JUNE,
    )
    rows = body["rows"]
    facts = {  # 按期结案率: of the cases due to close in the month, those closed on time
        code: (on_time, resolved)
        for code, on_time, resolved in dashboard.sql(
            "SELECT u.code, coalesce(s.closed_on_time_of_due, 0), coalesce(s.due_to_close, 0) "
            "FROM units u "
            "LEFT JOIN stats_period s ON s.level = 'grid' AND s.code = u.code "
            "AND s.period = '2025-06' WHERE u.level = 'grid' AND u.street_code = %s",
            street,
        )
    }
    assert {r["code"] for r in rows} == set(facts) and len(rows) == body["extra"]["total"]
    for r in rows:
        on_time, resolved = (int(x) for x in facts[r["code"]])
        assert r["n"] == resolved
        assert r["value"] == (pytest.approx(on_time / resolved) if resolved else None)
        assert r["ranked"] == (resolved >= 5) and (r["rank"] is None) == (not r["ranked"])
    ranked = [r for r in rows if r["ranked"]]
    assert ranked and any(not r["ranked"] for r in rows), "the fortnight has both kinds"
    assert rows[: len(ranked)] == ranked  # the ranked first, then the small samples
    assert [r["value"] for r in ranked] == sorted((r["value"] for r in ranked), reverse=True)
    for before, after in itertools.pairwise(ranked):  # ties share a rank
        assert after["rank"] == (
            before["rank"] if after["value"] == before["value"] else ranked.index(after) + 1
        )


def test_a_higher_minimum_ranks_fewer_and_counts_rank_whatever_their_size(
    dashboard: Dashboard,
) -> None:
    low = _ranking(dashboard, level="grid", kpi="on_time_rate", min_sample=1, **JUNE)
    high = _ranking(dashboard, level="grid", kpi="on_time_rate", min_sample=30, **JUNE)
    assert sum(r["ranked"] for r in high) < sum(r["ranked"] for r in low)
    reported = _ranking(dashboard, level="grid", kpi="reported", **JUNE)
    assert all(r["ranked"] for r in reported)
    total = pg_count(
        dashboard,
        "SELECT coalesce(sum(reported), 0) FROM stats_period WHERE level = 'grid' "
        "AND period = '2025-06'",
    )
    assert sum(r["value"] for r in reported) == total > 0


def test_lower_is_better_ranks_the_lowest_first(dashboard: Dashboard) -> None:
    rows = _ranking(dashboard, level="grid", kpi="handling_hours", min_sample=3, **JUNE)
    values = [r["value"] for r in rows if r["ranked"]]
    assert values and values == sorted(values)
    assert rows[0]["rank"] == 1


def test_departments_and_days_rank_from_their_rollups(dashboard: Dashboard) -> None:
    rows = _ranking(dashboard, level="department", kpi="dispatched", period="day", at="2025-06-03")
    dispatched = pg_count(
        dashboard,
        "SELECT coalesce(sum(dispatched), 0) FROM stats_daily WHERE level = 'department' "
        "AND day = '2025-06-03'",
    )
    assert sum(r["value"] for r in rows) == dispatched > 0
    assert len(rows) == pg_count(dashboard, "SELECT count(*) FROM units WHERE level = 'department'")


def test_a_ranking_is_read_a_page_at_a_time(dashboard: Dashboard) -> None:
    whole = _ranking(dashboard, level="worker", kpi="visits", **JUNE)
    page = _ok(
        dashboard,
        "/api/v1/rankings",
        unit=f"street:{_street(dashboard)}",
        level="worker",
        kpi="visits",
        limit=7,
        offset=7,
        **JUNE,
    )
    assert page["rows"] == whole[7:14]
    workers = pg_count(dashboard, "SELECT count(*) FROM units WHERE level = 'worker'")
    assert page["extra"]["total"] == workers > 14
    assert (page["extra"]["limit"], page["extra"]["offset"]) == (7, 7)


def test_the_rankings_page_links_each_value_to_its_cases(dashboard: Dashboard) -> None:
    street = _street(dashboard)
    qs = {"unit": f"street:{street}", "level": "grid", "kpi": "closed", **JUNE}
    page = dashboard.get("/rankings", **qs)
    assert page.status_code == 200 and "/panels/rankings/table?" in page.text
    table = dashboard.get("/panels/rankings/table", **qs).text
    top = _ranking(dashboard, **qs)[0]
    assert f"/drill?unit=grid:{top['code']}&period=month&at=2025-06&kpi=closed" in table
    assert "数据截至" in table
    assert 'data-chart="bar"' in dashboard.get("/panels/rankings/chart", **qs).text


# --- 超期 --------------------------------------------------------------------------------
def test_the_overdue_list_is_every_breached_running_deadline(dashboard: Dashboard) -> None:
    body = _ok(dashboard, "/api/v1/overdue/list", limit=500)
    expected = dashboard.sql(
        "SELECT d.deadline_id FROM deadlines d JOIN cases c USING (case_id) "
        "WHERE d.breached_at IS NOT NULL AND d.done_at IS NULL AND NOT d.cancelled "
        "AND c.status NOT IN ('rejected', 'closed') ORDER BY d.due_time, d.deadline_id"
    )
    rows = body["rows"]
    assert rows and [r["deadline_id"] for r in rows] == [e[0] for e in expected][:500]
    assert body["extra"]["total"] == len(expected)
    late = [r["late_hours"] for r in rows]
    assert all(h is not None and h > 0 for h in late)
    assert late == sorted(late, reverse=True)  # earliest due is the latest
    assert {r["stage_zh"] for r in rows} <= {"签收", "处置", "核查"}
    tiles = _ok(dashboard, "/api/v1/overview/tiles")["rows"]
    overdue_cases = next(t["value"] for t in tiles if t["kpi"] == "overdue")
    assert len({e[0].split(":")[0] for e in expected}) == overdue_cases  # the 超期 tile's cases


def test_the_overdue_list_of_a_department_is_its_deadlines(dashboard: Dashboard) -> None:
    dept = dashboard.sql(
        "SELECT d.department_code, count(*) FROM deadlines d JOIN cases c USING (case_id) "
        "WHERE d.breached_at IS NOT NULL AND d.done_at IS NULL AND NOT d.cancelled "
        "AND c.status NOT IN ('rejected', 'closed') GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    )[0]
    body = _ok(dashboard, "/api/v1/overdue/list", unit=f"department:{dept[0]}", limit=500)
    assert body["extra"]["total"] == dept[1]
    assert {r["department_code"] for r in body["rows"]} == {dept[0]}


def test_nothing_of_a_past_fortnight_expires_in_the_next_hours(dashboard: Dashboard) -> None:
    body = _ok(dashboard, "/api/v1/overdue/expiring", hours=720)
    assert body["rows"] == [] and body["extra"]["total"] == 0 and body["extra"]["hours"] == 720


@pytest.mark.parametrize(
    ("unit", "by", "column"),
    [
        ("city", "children", "district_code"),
        ("city", "department", "department_code"),
        # a street's cases are read first, its late deadlines joined to them by key
        ("street:zhenhai-s001", "children", "village_code"),
        ("street:zhenhai-s001", "department", "department_code"),
    ],
)
def test_the_distribution_counts_late_deadlines_in_bucket_order(
    dashboard: Dashboard, unit: str, by: str, column: str
) -> None:
    body = _ok(dashboard, "/api/v1/overdue/distribution", unit=unit, by=by, **JUNE)
    assert body["extra"]["buckets"] == BUCKETS
    expected: dict[str, list[int]] = {}
    mine = "TRUE" if unit == "city" else f"c.street_code = '{unit.split(':')[1]}'"
    group = "d.department_code" if column == "department_code" else f"c.{column}"
    for code, bucket, n in dashboard.sql(
        f"SELECT {group}, CASE WHEN lateness_hours <= 4 THEN 0 WHEN lateness_hours <= 8 "
        "THEN 1 WHEN lateness_hours <= 16 THEN 2 WHEN lateness_hours <= 40 THEN 3 ELSE 4 END, "
        "count(*) FROM deadlines d JOIN cases c USING (case_id) WHERE NOT d.cancelled "
        "AND d.lateness_hours > 0 AND d.done_at >= '2025-06-01 00:00+08' "
        f"AND d.done_at < '2025-07-01 00:00+08' AND {mine} GROUP BY 1, 2"
    ):
        expected.setdefault(code, [0] * 5)[bucket] = n
    got = {r["code"]: r["counts"] for r in body["rows"] if r["late"]}
    assert got == expected and got
    lates = [r["late"] for r in body["rows"]]
    assert lates == sorted(lates, reverse=True)
    html = dashboard.get("/panels/overdue/distribution", by=by, **JUNE).text
    heads = [html.index(f"{escape(b)} 工时</th>") for b in BUCKETS]
    assert heads == sorted(heads)  # (4,8] before (16,40], not as text sorts them


def test_the_overdue_page_lays_out_its_three_panels(dashboard: Dashboard) -> None:
    page = dashboard.get("/overdue", hours=12, **JUNE)
    assert page.status_code == 200
    for panel in (
        "/panels/overdue/distribution?",
        "/panels/overdue/list?",
        "/panels/overdue/expiring?",
    ):
        assert panel in page.text
    listed = dashboard.get("/panels/overdue/list", limit=3).text
    assert listed.count('class="case-link"') == 3 and "下一页" in listed and "数据截至" in listed


# --- 热词 --------------------------------------------------------------------------------
def test_hot_words_are_the_quarters_counts_ties_broken_by_the_word(dashboard: Dashboard) -> None:
    body = _ok(dashboard, "/api/v1/hotwords", k=200, **JUNE)
    assert body["period"] == "2025-Q2" and body["extra"]["quarter"] == "2025-Q2"
    counts = dict(
        dashboard.sql("SELECT word, sum(count) FROM hot_words WHERE quarter = '2025-Q2' GROUP BY 1")
    )
    rows = body["rows"]
    assert rows and all(counts[r["word"]] == r["count"] for r in rows)
    assert [(r["count"], r["word"]) for r in rows] == sorted(
        ((r["count"], r["word"]) for r in rows), key=lambda cw: (-cw[0], cw[1])
    )
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    tied = [(a, b) for a, b in itertools.pairwise(rows) if a["count"] == b["count"]]
    assert tied, "the quarter has tied words"
    lexicons = {v for (v,) in dashboard.sql("SELECT DISTINCT lexicon_version FROM hot_words")}
    assert set(body["extra"]["lexicons"]) <= lexicons and body["extra"]["lexicons"]
    assert {r["change"] for r in rows} == {"new"}  # nothing counted the quarter before


def test_a_districts_hot_words_and_the_quarter_before(dashboard: Dashboard) -> None:
    district = dashboard.sql("SELECT code FROM units WHERE level = 'district' LIMIT 1")[0][0]
    body = _ok(
        dashboard, "/api/v1/hotwords", unit=f"district:{district}", period="day", at="2025-06-03"
    )
    assert body["period"] == "2025-Q2" and body["unit"] == f"district:{district}"
    before = _ok(dashboard, "/api/v1/hotwords", previous="true", **JUNE)
    assert before["period"] == "2025-Q1" and before["rows"] == []
    page = dashboard.get("/hotwords", unit=f"district:{district}", **JUNE)
    assert page.status_code == 200 and "2025年第2季度" in page.text
    panel = dashboard.get("/panels/hotwords", **JUNE).text
    assert 'data-chart="wordcloud"' in panel and "新上榜" in panel and "数据截至" in panel


# --- refusals ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "params", "status", "parameter"),
    [
        (
            "/api/v1/rankings",
            {"level": "department", "unit": "district:__district__"},
            422,
            "level",
        ),
        ("/api/v1/rankings", {"level": "province"}, 422, "level"),
        ("/api/v1/rankings", {"unit": "department:__department__"}, 422, "level"),
        ("/api/v1/rankings", {"kpi": "open"}, 422, "kpi"),
        ("/api/v1/rankings", {"kpi": "nope"}, 422, "kpi"),
        ("/api/v1/rankings", {"min_sample": "-1"}, 422, "min_sample"),
        ("/api/v1/rankings", {"limit": "0"}, 422, "limit"),
        ("/api/v1/rankings", {"limit": "501"}, 422, "limit"),
        ("/api/v1/rankings", {"offset": "-3"}, 422, "offset"),
        ("/api/v1/rankings", {"unit": "grid:no-such-grid"}, 404, "unit"),
        ("/api/v1/overdue/list", {"unit": "worker:__worker__"}, 422, "unit"),
        ("/api/v1/overdue/list", {"unit": "street"}, 422, "unit"),
        ("/api/v1/overdue/expiring", {"hours": "0"}, 422, "hours"),
        ("/api/v1/overdue/expiring", {"hours": "721"}, 422, "hours"),
        ("/api/v1/overdue/distribution", {"by": "grid"}, 422, "by"),
        ("/api/v1/overdue/distribution", {"unit": "grid:__grid__", "by": "children"}, 422, "by"),
        ("/api/v1/overdue/distribution", {"period": "month", "at": "2025-13"}, 422, "at"),
        ("/api/v1/hotwords", {"unit": "street:__street__"}, 422, "unit"),
        ("/api/v1/hotwords", {"k": "0"}, 422, "k"),
        ("/api/v1/hotwords", {"k": "201"}, 422, "k"),
        ("/rankings", {"kpi": "open"}, 422, "kpi"),
        ("/panels/overdue/distribution", {"unit": "grid:__grid__", "by": "children"}, 422, "by"),
        ("/hotwords", {"period": "quarter", "at": "2025-Q5"}, 422, "at"),
    ],
)
def test_bad_parameters_get_problem_details(
    dashboard: Dashboard, path: str, params: dict[str, str], status: int, parameter: str
) -> None:
    known = {
        level: dashboard.sql("SELECT code FROM units WHERE level = %s LIMIT 1", level)[0][0]
        for level in ("district", "street", "grid", "department", "worker")
    }
    for key, value in params.items():
        for level, code in known.items():
            value = value.replace(f"__{level}__", code)
        params[key] = value
    r = dashboard.get(path, **params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["parameter"] == parameter and body["detail"]
    assert "Traceback" not in r.text


def test_a_refused_level_or_kpi_lists_what_is_allowed(dashboard: Dashboard) -> None:
    district = dashboard.sql("SELECT code FROM units WHERE level = 'district' LIMIT 1")[0][0]
    r = dashboard.get("/api/v1/rankings", unit=f"district:{district}", level="department")
    assert r.json()["allowed"] == ["street", "village"]
    r = dashboard.get("/api/v1/rankings", level="worker")
    assert r.status_code == 422 and "worker" not in r.json()["allowed"]
    # an empty level is not the default level: it is refused as any other
    r = dashboard.get("/api/v1/rankings", level="")
    assert r.status_code == 422 and r.json()["parameter"] == "level"
    r = dashboard.get("/api/v1/rankings", kpi="overdue")
    assert "on_time_rate" in r.json()["allowed"] and "overdue" not in r.json()["allowed"]
