"""The fault-injection suite runs on a stack of its own, never on the shared one.

PostgreSQL, Kafka and the registry are started by ``infra.stack`` in a temporary data folder
(``FQ_DATA_DIR``) on ports found free at the start, with the binaries the shared stack already
resolved (Kafka's jars and the unpacked registry are linked, not fetched again). The suite may
restart, freeze or stop anything in it; the stack is stopped and its folder removed at the end,
also when a test failed. When it cannot be started the session fails loudly: nothing is skipped.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from events.errors import FengqiaoError, StackError
from infra.settings import ConnectionSettings, StackSettings
from infra.stack import connection_for, down, up
from infra.stack.layout import Layout

HERE = Path(__file__).resolve().parent
PORTS_FROM = 20_000  # above the well-known and registered ports services are often given


@dataclass(frozen=True)
class FaultStack:
    """The suite's own stack: how it is laid out and how clients reach it."""

    settings: StackSettings
    connection: ConnectionSettings


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


def _free_ports(count: int, rng: random.Random | None = None) -> list[int]:
    """``count`` distinct TCP ports free now, below the range the kernel hands out to
    outgoing connections: a restarted service binds its port again, and a port in that range
    may meanwhile be the local end of some client's connection. Each also has its successor
    free (the registry's management interface listens on its port + 1)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    rng = rng or random.Random()
    ports: list[int] = []
    while len(ports) < count:
        port = rng.randrange(PORTS_FROM, low - 1)
        if any(abs(port - p) <= 1 for p in ports) or not all(map(_bindable, (port, port + 1))):
            continue
        ports.append(port)
    return ports


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _share_binaries(shared: Layout, own: Layout, kafka_version: str) -> None:
    """Link the shared stack's Kafka jars and unpacked registry into ``own`` (read only by
    the services); where the shared stack has none yet, ``up`` fetches them as it would."""
    if (shared.kafka_libs / f"kafka_2.13-{kafka_version}.jar").exists():
        own.kafka_dir.mkdir(parents=True, exist_ok=True)
        own.kafka_libs.symlink_to(shared.kafka_libs)
    if (shared.apicurio_home / "quarkus-run.jar").exists():
        own.apicurio_dir.mkdir(parents=True, exist_ok=True)
        own.apicurio_home.symlink_to(shared.apicurio_home)


@pytest.fixture(scope="module")
def fault_stack() -> Iterator[FaultStack]:
    """A stack of the suite's own, stopped and removed as soon as the module's tests end
    (not with the session: the rest of the suite should not carry it)."""
    shared = StackSettings()
    data = Path(tempfile.mkdtemp(prefix="fq-faults-"))
    data.chmod(0o755)  # PostgreSQL runs as its own OS user, which must enter the folder
    kafka, controller, registry, pg = _free_ports(4)
    settings = StackSettings(
        data_dir=data,
        kafka_port=kafka,
        kafka_controller_port=controller,
        registry_port=registry,
        pg_port=pg,
        kafka_heap="512m",
        start_timeout_s=240.0,
        kafka_auth=shared.kafka_auth,  # locked down unless FQ_KAFKA_AUTH=none
    )
    # Clients of this stack, here and in the processes the suite starts, take its principals'
    # passwords from its own Kafka folder (events.kafka_access), not the shared stack's.
    patch = pytest.MonkeyPatch()
    patch.setenv("FQ_KAFKA_LOCAL_DIR", str(Layout.of(settings).kafka_dir))
    try:
        _share_binaries(Layout.of(shared), Layout.of(settings), settings.kafka_version)
        connection = connection_for(settings, ConnectionSettings())
        _up(settings, connection)
    except (FengqiaoError, OSError, subprocess.SubprocessError) as e:
        kept = Path(tempfile.mkdtemp(prefix="fq-faults-logs-"))
        shutil.copytree(Layout.of(settings).data_dir / "logs", kept, dirs_exist_ok=True)
        _remove(settings)
        patch.undo()
        pytest.fail(
            f"the fault suite's own stack did not start (its logs: {kept}):\n{e}", pytrace=False
        )
    try:
        yield FaultStack(settings, connection)
    finally:
        _remove(settings)
        patch.undo()


def _up(settings: StackSettings, connection: ConnectionSettings) -> None:
    """``up``, and once more if a service did not come up (``up`` starts only what is not
    running). On the shared CI machine a registry was once seen to end at start-up with
    nothing in its log; a second start is what an operator would try first."""
    try:
        up(settings, connection)
    except StackError as first:
        print(f"the fault suite's stack did not start at the first attempt; again:\n{first}")
        up(settings, connection)


def _remove(settings: StackSettings) -> None:
    try:
        down(settings)
    finally:
        shutil.rmtree(settings.data_dir, ignore_errors=True)
