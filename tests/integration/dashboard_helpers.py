"""A dashboard test's world: a simulated Zhuangshi street projected into its own projection,
and ``fengqiao serve`` running over it as a real process on a free port."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest

from bench.canonical_log import canonical_events
from bench.common import free_port, stop_process
from events.models import Event
from simulate.city import CityShape
from tests.integration.projection_helpers import (
    PROJECT_ROOT,
    ProjectionWorld,
    wait_until_answering,
)

__all__ = [
    "DAYS",
    "SEED",
    "START",
    "Dashboard",
    "dashboard",
    "free_port",
    "pg_count",
    "serve",
    "served",
    "stop",
]

START = date(2025, 5, 26)  # two weeks across May and June, Q2 of 2025
DAYS = 14
SEED = 5


@dataclass
class Dashboard:
    """The served dashboard and the projection behind it."""

    world: ProjectionWorld
    schema: str
    url: str
    process: subprocess.Popen[str]

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", params=params, timeout=30)

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of ``query`` in the projection's schema: the numbers a panel must show."""
        with self.world.conn() as c:
            c.execute(f'SET search_path TO "{self.schema}"')
            rows: list[tuple[Any, ...]] = c.execute(query, args).fetchall()  # type: ignore[arg-type]
            return rows


def serve(world: ProjectionWorld, **env: str) -> tuple[str, subprocess.Popen[str]]:
    """Start ``fengqiao serve`` over ``world``'s projection; its URL once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "serve"],
        env=world.env(FQ_DASHBOARD_PORT=str(port), FQ_DASHBOARD_WATCH_S="0.2", **env),
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"

    def output() -> str:
        return process.stdout.read() if process.stdout else ""

    wait_until_answering(process, f"{url}/api/v1/freshness", "fengqiao serve", 60, output)
    return url, process


def stop(process: subprocess.Popen[str]) -> None:
    stop_process(process)
    if process.stdout is not None:  # a pipe left open is a ResourceWarning in a later test
        process.stdout.close()


def served(
    request: pytest.FixtureRequest, events: Iterable[tuple[str, Event]]
) -> Iterator[Dashboard]:
    """``events`` projected into a projection of the test module's own and served; the world
    is removed when the generator closes."""
    connection = request.getfixturevalue("connection_settings")
    name = f"dash_{request.module.__name__.rsplit('.', 1)[-1][5:20]}_{free_port()}"
    world = ProjectionWorld(connection, name)
    try:
        world.write(events)
        schema = world.live_schema()
        world.project(schema)
        url, process = serve(world)
        try:
            yield Dashboard(world, schema, url, process)
        finally:
            stop(process)
    finally:
        world.cleanup()


@pytest.fixture(scope="module")
def dashboard(request: pytest.FixtureRequest) -> Iterator[Dashboard]:
    """Two weeks of Zhuangshi street, projected and served; one per test module."""
    yield from served(request, canonical_events(CityShape.zhuangshi(), SEED, START, DAYS))


def pg_count(dashboard: Dashboard, query: str, *args: Any) -> int:
    rows = dashboard.sql(query, *args)
    return int(rows[0][0])
