"""``fengqiao demo`` as a person runs it: on topics, a projection, a workflow app id and a port
of its own, it prints the dashboard's URL, the overview fills with the backfill, the position
grows with the live simulation, and Ctrl-C (SIGINT) stops every process it started, exit 0."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from domain.calendar import local_date
from infra.settings import ConnectionSettings
from tests.integration.dashboard_helpers import free_port
from tests.integration.helpers import delete_prefixed_topics
from tests.integration.projection_helpers import PROJECT_ROOT, ProjectionWorld, wait_for


def _children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while looked at
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class _Lines:
    """The demo's stdout, line by line, read in a thread so the pipe never fills."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))

    def close(self, process: subprocess.Popen[str]) -> None:
        self._thread.join(timeout=10)  # the process has ended: its stdout is at its end
        if process.stdout is not None:
            process.stdout.close()

    def url(self) -> str | None:
        return next(
            (ln.split(" ", 1)[1] for ln in self.lines if ln.startswith("dashboard: ")), None
        )


def test_the_demo_runs_the_job_and_stops_everything_on_ctrl_c(
    connection_settings: ConnectionSettings, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    name = unique_name("demo")
    world = ProjectionWorld(connection_settings, name)
    port = free_port()
    env = world.env(
        FQ_WORKFLOW_APP_ID=name,
        FQ_DASHBOARD_PORT=str(port),
        FQ_DASHBOARD_WATCH_S="0.5",
        FQ_DATA_DIR=str(tmp_path),  # its logs, and the live run's figures
        FQ_COMMIT_INTERVAL_S="0.5",
    )
    log = tmp_path / "demo-stderr.log"
    err = log.open("w")
    demo = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "demo", "--days", "1", "--rate", "20"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=err,
        text=True,
    )
    out = _Lines(demo)
    children: set[int] = set()
    try:
        wait_for(lambda: out.url() is not None or demo.poll() is not None, 240, "the URL line")
        url = out.url()
        assert url == f"http://127.0.0.1:{port}/", log.read_text()
        # The day `simulate --days 1` publishes: yesterday in Asia/Shanghai.
        backfilled = local_date(datetime.now(UTC)) - timedelta(days=1)

        def get(path: str, **params: str) -> httpx.Response:
            try:
                return httpx.get(f"{url}{path}", params=params, timeout=10)
            except httpx.TransportError:
                if demo.poll() is not None:  # it stopped: say why rather than how the call failed
                    raise AssertionError(log.read_text()) from None
                raise

        def shows_cases() -> bool:
            r = get("api/v1/overview/tiles", period="day", at=backfilled.isoformat())
            tiles = {t["kpi"]: t for t in r.json()["rows"]} if r.status_code == 200 else {}
            return bool(tiles) and (tiles["reported"]["value"] or 0) > 0

        wait_for(shows_cases, 300, "the overview to show the backfilled day's cases")

        def position() -> int:
            return int(get("api/v1/freshness").json()["position"])

        first = position()
        wait_for(lambda: position() > first, 240, "the live simulation to move the projection")
        children = _children_of(demo.pid)
        assert children  # the dashboard, the projector, the workflow, the live simulation
        demo.send_signal(signal.SIGINT)
        assert demo.wait(120) == 0, log.read_text()
        assert not [pid for pid in children if _alive(pid)]
        said = log.read_text()
        # Every child is named as stopped; the live simulation's own exit code is its business
        # (Ctrl-C inside confluent-kafka's flush can end it with 1).
        assert re.search(r"stopped live \(-?\d+\), workflow-live \(-?\d+\), projector", said)
        assert "dashboard (" in said.rsplit("stopped", 1)[1]
        assert (tmp_path / "logs" / "demo-projector.log").stat().st_size > 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        out.close(demo)
        for pid in children:
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        err.close()
        world.cleanup()
        delete_prefixed_topics(connection_settings.kafka_bootstrap, name)


def _demo_until_it_ends(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", "demo", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,  # the tests judge the exit code and what it said
    )


@pytest.mark.parametrize("args", [["--shape", "paris"], ["--days", "0"], ["--rate", "0"]])
def test_the_demo_refuses_bad_options_before_starting_anything(
    args: list[str], tmp_path: Path
) -> None:
    done = _demo_until_it_ends(args, {**os.environ, "FQ_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert not (tmp_path / "logs").exists()


def test_a_child_that_dies_is_named_and_the_rest_are_stopped(
    connection_settings: ConnectionSettings, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    name = unique_name("demo")
    world = ProjectionWorld(connection_settings, name)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))  # the dashboard's port, already taken: `serve` cannot start
    taken.listen()
    port = taken.getsockname()[1]
    try:
        done = _demo_until_it_ends(
            ["--days", "1"],
            world.env(
                FQ_WORKFLOW_APP_ID=name, FQ_DASHBOARD_PORT=str(port), FQ_DATA_DIR=str(tmp_path)
            ),
        )
        assert done.returncode == 1, done.stderr
        assert "dashboard (fengqiao serve) exited with" in done.stderr
        assert "address already in use" in done.stderr.lower()  # the tail of its log
        assert "stopped" in done.stderr and "projector" in done.stderr.split("stopped")[-1]
        assert "dashboard: " not in done.stdout
    finally:
        taken.close()
        world.cleanup()
        delete_prefixed_topics(connection_settings.kafka_bootstrap, name)
