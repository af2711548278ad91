"""The local stack as a whole: bring it up, take it down, say how it is.

Order: PostgreSQL, then Kafka, then the registry (which stores its schemas in PostgreSQL).
Every step is idempotent: a service that already runs and answers is left alone. After the
services, the declared topics are created or verified and the registry's global
compatibility is set to BACKWARD_TRANSITIVE.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from pydantic import SecretStr
from rich.console import Console

from events.errors import StackError
from infra.settings import ConnectionSettings, StackSettings
from infra.stack.kafka import Kafka
from infra.stack.layout import Layout
from infra.stack.postgres import Postgres
from infra.stack.probes import kafka_answers, postgres_answers, registry_answers
from infra.stack.processes import poll, rss_kib
from infra.stack.registry import CCOMPAT, COMPATIBILITY, Registry, ensure_compatibility
from infra.stack.service import STOP_TIMEOUT_S, Service
from infra.stack.tools import Tools, ensure_tools
from infra.stack.topics_admin import ensure_topics

STARTED = "started"
RUNNING = "already running"
STOPPED = "stopped"
KILLED = f"killed (no clean exit within {STOP_TIMEOUT_S:.0f}s)"
NOT_RUNNING = "not running"


@dataclass(frozen=True)
class ServiceReport:
    """What ``up``, ``down`` or ``status`` found or did for one service."""

    name: str
    address: str
    pid: int | None
    healthy: bool
    action: str = ""
    seconds: float = 0.0
    rss_kib: int | None = None


@dataclass(frozen=True)
class UpReport:
    """The outcome of ``up``: per service, the topics it created, whether config changed."""

    services: list[ServiceReport]
    topics_created: list[str]
    compatibility_changed: bool

    @property
    def noop(self) -> bool:
        """True when the stack was already complete and nothing was changed."""
        return (
            all(s.action == RUNNING for s in self.services)
            and not self.topics_created
            and not self.compatibility_changed
        )


def connection_for(
    settings: StackSettings, base: ConnectionSettings | None = None
) -> ConnectionSettings:
    """How clients reach the local stack ``settings`` describes (ports may be overridden).

    ``base`` (default: read from the environment) supplies everything else, e.g. the
    replication factor.
    """
    s = settings
    dsn = (
        f"postgresql://{quote(s.pg_user, safe='')}:"
        f"{quote(s.pg_password.get_secret_value(), safe='')}@{s.host}:{s.pg_port}/{s.pg_database}"
    )
    return (base or ConnectionSettings()).model_copy(
        update={
            "kafka_bootstrap": f"{s.host}:{s.kafka_port}",
            "registry_url": f"http://{s.host}:{s.registry_port}{CCOMPAT}",
            "pg_dsn": SecretStr(dsn),
        }
    )


def services(settings: StackSettings) -> list[Service]:
    """The stack's services in start order."""
    layout = Layout.of(settings)
    return [Postgres(settings, layout), Kafka(settings, layout), Registry(settings, layout)]


def up(
    settings: StackSettings, connection: ConnectionSettings, console: Console | None = None
) -> UpReport:
    """Start whatever is not running, wait until each service answers, then topics and config.

    ``connection`` gives the replication factor of created topics. Progress goes to
    ``console`` (silent when None). Raises ``StackError`` naming the log file when a service
    cannot start within ``settings.start_timeout_s``, and ``TopicMismatch`` when an existing
    topic differs from its declaration.
    """
    console = console or Console(quiet=True)
    tools = ensure_tools()
    reports = []
    for service in services(settings):
        began = time.monotonic()
        with console.status(f"{service.name}: starting…"):
            action = _ensure_running(service, tools, settings.start_timeout_s)
        pid = service.pid()
        report = ServiceReport(
            service.name,
            service.address(),
            pid,
            True,
            action,
            time.monotonic() - began,
            rss_kib(pid),
        )
        reports.append(report)
        console.print(
            f"{report.name:<9} {report.action:<16} {report.seconds:6.1f}s  pid {report.pid}  "
            f"{report.address}"
        )
    kafka = Kafka(settings, Layout.of(settings))
    if kafka.scram and not kafka.locked():
        console.print(
            "kafka     runs in plaintext, as it was started: `stack down` then `up` locks it down"
        )
    local = connection_for(settings, connection)
    created = ensure_topics(kafka.admin(), local)
    console.print(f"{'topics':<9} {len(created)} created {' '.join(created)}")
    changed = ensure_compatibility(local.registry_url)
    verb = "set to" if changed else "already"
    console.print(f"{'registry':<9} global compatibility {verb} {COMPATIBILITY}")
    return UpReport(reports, created, changed)


def _ensure_running(service: Service, tools: Tools, timeout_s: float) -> str:
    pid = service.pid()
    if pid is not None:
        # Ours but not answering yet: another `up` is starting it, or it is recovering.
        service.wait_healthy(pid, timeout_s)
        return RUNNING
    if service.healthy():
        raise StackError(
            f"something that is not this stack's {service.name} already answers on "
            f"{service.address()} (no live pid in {service.pid_file}); stop it or change the "
            "port (FQ_PG_PORT, FQ_KAFKA_PORT, FQ_REGISTRY_PORT)"
        )
    service.start(tools, timeout_s)
    return STARTED


def down(settings: StackSettings, console: Console | None = None) -> list[ServiceReport]:
    """Stop the registry, Kafka, then PostgreSQL; their data stays for the next ``up``."""
    console = console or Console(quiet=True)
    tools: Tools | None = None
    reports = []
    for service in reversed(services(settings)):
        began = time.monotonic()
        pid = service.pid()
        action = NOT_RUNNING
        if pid is not None:
            tools = tools or ensure_tools(install=False)
            with console.status(f"{service.name}: stopping…"):
                action = STOPPED if service.stop(tools) else KILLED
        report = ServiceReport(
            service.name, service.address(), pid, False, action, time.monotonic() - began
        )
        reports.append(report)
        console.print(f"{report.name:<9} {report.action:<12} {report.seconds:6.1f}s")
    return reports


def status(settings: StackSettings) -> list[ServiceReport]:
    """Each service's address, pid, health and resident memory, in start order."""
    reports = []
    for service in services(settings):
        pid = service.pid()
        reports.append(
            ServiceReport(
                service.name, service.address(), pid, service.healthy(), rss_kib=rss_kib(pid)
            )
        )
    return reports


def disk_usage(path: Path) -> int:
    """Bytes allocated on disk below ``path`` (unreadable entries count as nothing)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                continue
    return total


def prepare(connection: ConnectionSettings, timeout_s: float) -> list[str]:
    """Make services configured from outside (``FQ_*``) ready for Fengqiao, starting nothing.

    Waits up to ``timeout_s`` for each to answer, then creates or verifies the topics and
    sets the registry's global compatibility. Returns the topics created. Raises
    ``StackError`` naming the service that does not answer.
    """
    dsn = connection.pg_dsn.get_secret_value()
    probes: dict[str, tuple[str, Callable[[], bool]]] = {
        "postgres": ("FQ_PG_DSN", lambda: postgres_answers(dsn)),
        "kafka": (connection.kafka_bootstrap, lambda: kafka_answers(connection.kafka_bootstrap)),
        "registry": (connection.registry_url, lambda: registry_answers(connection.registry_url)),
    }
    for name, (where, probe) in probes.items():
        if not poll(probe, timeout_s, interval_s=1.0):
            raise StackError(f"{name} at {where} did not answer within {timeout_s:.0f}s")
    created = ensure_topics(connection.kafka_bootstrap, connection)
    ensure_compatibility(connection.registry_url)
    return created
