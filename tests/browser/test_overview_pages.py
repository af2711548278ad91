"""The overview and its drill in chromium: the tiles render in Chinese and show the read
models' numbers, and a person can click from the city down to one case."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Visit
from tests.integration.dashboard_helpers import Dashboard, pg_count

JUNE = "period=month&at=2025-06"
JUNE_CASES = (
    "SELECT count(*) FROM cases WHERE reported_at >= '2025-06-01 00:00+08' "
    "AND reported_at < '2025-07-01 00:00+08'"
)
# Draws a text in a canvas in the label's own font: missing glyphs all render as the same
# empty box (tofu), so two different Chinese words only look different when a CJK font drew them.
GLYPHS = """(el) => {
  const font = getComputedStyle(el).font;
  const canvas = document.createElement('canvas');
  canvas.width = 200; canvas.height = 60;
  const ctx = canvas.getContext('2d');
  const draw = (text) => {
    ctx.clearRect(0, 0, 200, 60); ctx.font = font; ctx.fillText(text, 4, 40);
    return canvas.toDataURL();
  };
  return {one: draw('上报'), other: draw('结案'), width: ctx.measureText('上报').width};
}"""


def test_the_overview_renders_its_tiles_in_chinese(visit: Visit) -> None:
    page = visit.open(f"/overview?{JUNE}")
    label = page.locator('.tile[data-kpi="reported"] .label')
    assert label.inner_text() == "上报"
    assert label.is_visible() and (label.bounding_box() or {}).get("width", 0) > 0
    glyphs: dict[str, Any] = label.evaluate(GLYPHS)
    assert glyphs["width"] > 0
    assert glyphs["one"] != glyphs["other"], "上报 and 结案 render alike: no CJK font (tofu)"
    assert page.locator(".tile").count() >= 10
    assert "数据截至" in page.locator("#tiles .fresh").inner_text()
    assert page.locator("#funnel canvas").count() == 1  # the chart was drawn
    visit.screenshot("overview")


def test_a_tile_shows_the_count_behind_it(visit: Visit, dashboard: Dashboard) -> None:
    page = visit.open(f"/overview?{JUNE}")
    value = page.locator('.tile[data-kpi="reported"] .value')
    reported = pg_count(dashboard, JUNE_CASES)
    assert reported > 0
    assert float(value.get_attribute("data-value") or "nan") == reported
    assert value.inner_text().replace(",", "").startswith(str(reported))


def _busiest_grid_chain(dashboard: Dashboard) -> list[tuple[str, str]]:
    district, street, village, grid = dashboard.sql(
        "SELECT district_code, street_code, village_code, grid_id FROM cases "
        "WHERE reported_at >= '2025-06-01 00:00+08' AND reported_at < '2025-07-01 00:00+08' "
        "GROUP BY 1, 2, 3, 4 ORDER BY count(*) DESC, 4 LIMIT 1"
    )[0]
    return [("district", district), ("street", street), ("village", village), ("grid", grid)]


def test_a_person_drills_from_the_city_to_one_case(visit: Visit, dashboard: Dashboard) -> None:
    page = visit.open(f"/overview?{JUNE}")
    chain = _busiest_grid_chain(dashboard)
    for level, code in chain:
        with page.expect_navigation():
            page.locator(f'#children-table tr[data-code="{code}"] a.drill-down').click()
        visit.settled()
        assert f"unit={level}:{code}" in page.url
        assert page.locator("[data-unit-name]").is_visible()
    visit.screenshot("overview-grid")
    with page.expect_navigation():
        page.locator("#case-list").click()
    visit.settled()
    grid = chain[-1][1]
    links = page.locator("a.case-link")
    total = int(page.locator("#drill-total").inner_text())
    expected = pg_count(
        dashboard,
        JUNE_CASES + " AND grid_id = %s",
        grid,
    )
    assert total == expected > 0
    assert links.count() == min(total, 100)
    visit.screenshot("cases")
    href = links.first.get_attribute("href") or ""
    case_id = href.rsplit("/", 1)[-1]
    assert href == f"/case/{case_id}"
    assert pg_count(dashboard, "SELECT count(*) FROM cases WHERE case_id = %s", case_id) == 1
    if dashboard.get(href).status_code == 404:
        return  # the case page is its own work: until it is served, the link is checked above
    with page.expect_navigation():
        links.first.click()
    visit.settled()
    assert case_id in page.locator("main").inner_text()
    visit.screenshot("case")


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("overview-district", "/overview?unit=district:{district}&" + JUNE),
        ("drill-on-time-rate", "/drill?kpi=on_time_rate&part=left_out&" + JUNE),
        ("drill-open", "/drill?kpi=open&" + JUNE),
        ("cases-city", "/cases?" + JUNE),
        ("overview-quarter", "/overview?period=quarter&at=2025-Q2"),
        ("overview-day", "/overview?period=day&at=2025-06-03"),
        ("rankings", "/rankings?" + JUNE),
        ("rankings-workers", "/rankings?level=worker&kpi=visits&unit=street:{street}&" + JUNE),
        ("overdue", "/overdue?" + JUNE),
        ("hotwords", "/hotwords?period=quarter&at=2025-Q2"),
        ("workers", "/workers?unit=street:{street}&" + JUNE),
        ("workers-city", "/workers?" + JUNE),  # summed per district
        ("worker-track", "/workers/track?worker={worker}&day={day}"),
        ("map-streets", "/map?level=street&kpi=reported&" + JUNE),
        ("map-grids", "/map?level=grid&kpi=on_time_rate&unit=street:{street}&" + JUNE),
        ("case", "/case/{case}"),
    ],
)
def test_each_page_loads_offline_without_errors(
    visit: Visit, dashboard: Dashboard, name: str, path: str
) -> None:
    district, street, case = dashboard.sql(
        "SELECT min(district_code), min(street_code), min(case_id) FROM cases"
    )[0]
    worker, day = dashboard.sql(
        "SELECT worker_id, day FROM visits ORDER BY day DESC, worker_id LIMIT 1"
    )[0]
    page = visit.open(
        path.format(district=district, street=street, case=case, worker=worker, day=day)
    )
    assert page.locator("main").inner_text().strip()
    visit.screenshot(name)
