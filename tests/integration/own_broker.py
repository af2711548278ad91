"""A Kafka broker of a test's own, for the tests of the locked-down stack: its own data folder
and free ports, the shared stack's jars linked, so the shared broker is never touched."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from bench.common import free_port
from infra.settings import StackSettings
from infra.stack.kafka import Kafka
from infra.stack.layout import Layout
from infra.stack.tools import Tools, ensure_tools

MAIN_LIBS = Path(__file__).resolve().parents[2] / ".data" / "kafka" / "libs"


def own_broker(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    auth: Literal["none", "scram"],
    kind: type[Kafka] = Kafka,
) -> tuple[Kafka, Layout, Tools]:
    """A broker of the test's own, not started: a new data folder, free ports, the stack's jars
    (resolved once by Maven) linked."""
    data = tmp_path_factory.mktemp(name)
    settings = StackSettings(
        data_dir=data,
        kafka_auth=auth,
        kafka_heap="512m",
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
    )
    layout = Layout.of(settings)
    layout.kafka_dir.mkdir(parents=True)
    layout.kafka_libs.symlink_to(MAIN_LIBS)
    (data / "logs").mkdir()
    return kind(settings, layout), layout, ensure_tools(install=False)
