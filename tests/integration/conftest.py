"""Integration tests run on the real stack, brought up once per test session.

Where the stack comes from (first match wins):
1. ``FQ_KAFKA_BOOTSTRAP`` is set: the services configured by ``FQ_*``, as they are;
2. ``docker info`` works: infra/compose.yaml through testcontainers (stopped at the end);
3. otherwise: the local processes of ``fengqiao stack up`` (left running for the next run).
In every case the declared topics and the registry's global compatibility are ensured. When
the stack cannot be had, the session fails loudly; nothing is skipped. Tests marked
``local_stack`` drive ``fengqiao stack`` itself and are deselected (and said so) in modes 1
and 2, where no local processes exist to drive.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from events.errors import FengqiaoError
from infra.settings import ConnectionSettings, StackSettings
from infra.stack import connection_for, prepare, up
from infra.stack.layout import Layout

HERE = Path(__file__).resolve().parent
INFRA = HERE.parent.parent / "infra"
LOCAL, DOCKER, EXTERNAL = "local processes", "docker compose", "FQ_* services"


@dataclass(frozen=True)
class Stack:
    """The stack the session runs on: where it came from and how to reach it."""

    mode: str
    connection: ConnectionSettings


@functools.cache
def stack_mode() -> str:
    """Which of the three sources the session uses (see the module docstring)."""
    if os.environ.get("FQ_KAFKA_BOOTSTRAP"):
        return EXTERNAL
    if shutil.which("docker"):
        try:
            info = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
            if info.returncode == 0:
                return DOCKER
        except subprocess.TimeoutExpired:
            pass
    return LOCAL


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "local_stack: drives `fengqiao stack` itself; needs the local-process stack"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if HERE in item.path.parents]
    for item in ours:
        item.add_marker(pytest.mark.integration)
    local_only = [item for item in ours if item.get_closest_marker("local_stack")]
    if local_only and stack_mode() != LOCAL:
        config.hook.pytest_deselected(items=local_only)
        items[:] = [item for item in items if item not in local_only]
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"deselected {len(local_only)} local_stack tests: the stack comes from "
                f"{stack_mode()}, not local processes"
            )


@pytest.fixture(scope="session", autouse=True)
def stack() -> Iterator[Stack]:
    """The running stack; fails the session (never skips) when it cannot be had."""
    mode = stack_mode()
    settings = StackSettings()
    compose = None
    try:
        if mode == DOCKER:
            from testcontainers.compose import DockerCompose

            compose = DockerCompose(INFRA, compose_file_name="compose.yaml", wait=True)
            compose.start()
        if mode == LOCAL:
            connection = connection_for(settings)
            up(settings, connection)
            # Where a client finds the locked-down broker's principals, also for the processes
            # a test starts with a data folder of their own (FQ_DATA_DIR: the demo's output).
            os.environ.setdefault("FQ_KAFKA_LOCAL_DIR", str(Layout.of(settings).kafka_dir))
        else:
            connection = ConnectionSettings()
            prepare(connection, settings.start_timeout_s)
    except (FengqiaoError, OSError, subprocess.SubprocessError) as e:
        if compose is not None:
            compose.stop()
        pytest.fail(f"integration stack ({mode}) not available:\n{e}", pytrace=False)
    yield Stack(mode, connection)
    if compose is not None:
        compose.stop()


@pytest.fixture(scope="session")
def connection_settings(stack: Stack) -> ConnectionSettings:
    """How to reach the session's Kafka, registry and PostgreSQL."""
    return stack.connection


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """A factory of names no other test (or run) uses: ``unique_name("topic")``.

    Lower-case letters, digits and underscores only, so one name is valid as a Kafka topic,
    a consumer group, a registry subject and an unquoted PostgreSQL identifier.
    """
    slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:30]

    def make(prefix: str = "t") -> str:
        return f"{prefix}_{slug}_{uuid.uuid4().hex[:8]}"

    return make
