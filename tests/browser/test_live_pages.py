"""Live pages in chromium: a tile moves without a reload once new events are projected, and a
page says 数据滞后 when the projector is behind the canonical logs. The tests add a day to the
module's world, so they have a dashboard of their own (this module's)."""

from __future__ import annotations

import functools

import httpx

from bench.canonical_log import canonical_events
from events.models import Event
from simulate.city import CityShape
from tests.browser.conftest import Visit
from tests.integration.dashboard_helpers import DAYS, SEED, START, Dashboard, pg_count, serve, stop
from tests.integration.projection_helpers import wait_for

JUNE = "period=month&at=2025-06"
JUNE_CASES = (
    "SELECT count(*) FROM cases WHERE reported_at >= '2025-06-01 00:00+08' "
    "AND reported_at < '2025-07-01 00:00+08'"
)
TILE = '.tile[data-kpi="reported"] .value'


@functools.cache
def _the_day_after() -> list[tuple[str, Event]]:
    """The canonical events of the simulated day after the fortnight (8 June 2025 → 9 June):
    what the same run would have added with one day more."""
    shape = CityShape.zhuangshi()
    known = {e.envelope.event_id for _, e in canonical_events(shape, SEED, START, DAYS)}
    return [
        (stream, e)
        for stream, e in canonical_events(shape, SEED, START, DAYS + 1)
        if e.envelope.event_id not in known
    ]


def test_a_tile_moves_without_a_reload_when_events_are_projected(
    visit: Visit, dashboard: Dashboard
) -> None:
    page = visit.open(f"/overview?{JUNE}")
    before = pg_count(dashboard, JUNE_CASES)
    assert float(page.locator(TILE).get_attribute("data-value") or "nan") == before
    page.evaluate("window.fqMarker = 'same page'")  # gone if the page were reloaded
    day = _the_day_after()
    assert any(e.event_type == "CaseReported" for _, e in day)
    dashboard.world.write(day)
    dashboard.world.project(dashboard.schema)
    after = pg_count(dashboard, JUNE_CASES)
    assert after > before
    page.wait_for_function(
        f"(n) => parseFloat(document.querySelector('{TILE}').dataset.value) === n",
        arg=after,
        timeout=30_000,
    )
    assert page.evaluate("window.fqMarker") == "same page"
    visit.settled()
    visit.screenshot("overview-live")


def test_a_page_says_when_the_projector_is_behind(visit: Visit, dashboard: Dashboard) -> None:
    url, process = serve(dashboard.world, FQ_DASHBOARD_STALE_AFTER_S="1")
    try:
        visit.origin = url
        dashboard.world.write(_the_day_after())  # written, never projected

        def stale() -> bool:
            fresh = httpx.get(f"{url}/api/v1/freshness", timeout=5).json()
            return bool(fresh["stale"]) and fresh["behind"] > 0

        wait_for(stale, 30, "the dashboard to call the projection stale")
        page = visit.open(f"/overview?{JUNE}")
        assert page.locator("#tiles .fresh.stale strong").inner_text().startswith("数据滞后")
        page.wait_for_selector("#live.stale")
        assert page.locator("#live").get_attribute("title") == "数据滞后"
        visit.screenshot("overview-stale")
    finally:
        stop(process)
