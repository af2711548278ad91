"""Browser tests: the dashboard's pages in Debian's chromium, driven by Playwright (sync API),
over the ``dashboard`` fixture of the integration tests (a projected Zhuangshi fortnight served
by ``fengqiao serve``). They need the real stack, as the integration tests do, and are marked
``integration`` and ``browser``.

Playwright never downloads a browser here: it launches ``FQ_CHROMIUM`` (``/usr/bin/chromium``,
installed by ``./run setup``). Every page a test opens records its console errors, uncaught
exceptions and every request it makes; the test fails on any error and on any request to a
host other than the dashboard's (the pages must work offline, invariant 8). Each test keeps a
full-page screenshot under ``.data/artefacts/screenshots/``, named for the page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

from tests.integration.conftest import connection_settings, stack
from tests.integration.dashboard_helpers import Dashboard, dashboard
from tests.integration.projection_helpers import PROJECT_ROOT

__all__ = ["Visit", "browser", "connection_settings", "dashboard", "stack", "visit"]

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("FQ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# FQ_ARTEFACTS_DIR: where the screenshots go (two runs on one machine keep theirs apart).
SCREENSHOTS = (
    Path(os.environ.get("FQ_ARTEFACTS_DIR") or PROJECT_ROOT / ".data" / "artefacts") / "screenshots"
)
VIEWPORT = {"width": 1400, "height": 1000}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.browser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the pages in chromium (needs the stack)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless; fails (never skips) when it is not installed. One per
    module: Playwright's sync API keeps an event loop running in the main thread while it is
    open, and the tests after the browser's would find it there (``asyncio.run`` refuses)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no chromium at {CHROMIUM} (FQ_CHROMIUM): run ./run setup", pytrace=False)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Visit:
    """One page of the dashboard in the browser, with everything it did on the way."""

    page: Page
    origin: str  # scheme://host:port of the dashboard
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def open(self, path: str) -> Page:
        """Go to ``path`` and wait until the page and its panels have loaded."""
        self.page.goto(f"{self.origin}{path}")
        self.settled()
        return self.page

    def settled(self) -> None:
        """No panel still says 加载中… (htmx has swapped every one in)."""
        self.page.wait_for_load_state("load")
        self.page.wait_for_function(
            "() => !document.querySelector('.loading') && !document.querySelector('.htmx-request')"
        )

    def outside(self) -> list[str]:
        """Requests to anything but the dashboard (data: and blob: URLs stay in the page)."""
        host = urlsplit(self.origin).netloc
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != host
        ]

    def assert_clean(self) -> None:
        assert not self.errors, f"errors in the browser: {self.errors}"
        assert not self.outside(), f"requests that left the dashboard: {self.outside()}"

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def visit(browser: Browser, dashboard: Dashboard) -> Iterator[Visit]:
    """A fresh browser context on the dashboard, in zh-CN and Asia/Shanghai; at the end the
    test fails on any console error or outside request the page made."""
    context = browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    page = context.new_page()
    seen = Visit(page, dashboard.url)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.errors.append(f"console: {message.text} at {message.location}")

    def request(r: Request) -> None:
        seen.requests.append(r.url)

    page.on("console", console)
    page.on("pageerror", lambda exc: seen.errors.append(f"uncaught: {exc}"))
    page.on("request", request)
    try:
        yield seen
        seen.assert_clean()
    finally:
        context.close()
