"""What every local service offers the stack: where it listens, its pid, health, start, stop.

``Daemon`` is the common case of a service we launch ourselves (Kafka, the registry), as
opposed to PostgreSQL, which ``pg_ctl`` daemonizes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from infra.settings import StackSettings
from infra.stack.layout import Layout
from infra.stack.processes import alive, read_pid, spawn_detached, terminate, wait_ready
from infra.stack.tools import Tools

STOP_TIMEOUT_S = 60.0


class Service(ABC):
    """One daemon of the local stack, identified by a pid file and a command-line marker."""

    name: str

    def __init__(self, settings: StackSettings, layout: Layout) -> None:
        self.settings = settings
        self.layout = layout

    @property
    def log(self) -> Path:
        return self.layout.log(self.name)

    @property
    @abstractmethod
    def pid_file(self) -> Path:
        """The file whose first line is the daemon's pid."""

    @property
    @abstractmethod
    def marker(self) -> str:
        """A string the daemon's command line contains (guards against stale pid files)."""

    @abstractmethod
    def address(self) -> str:
        """Where clients reach it."""

    @abstractmethod
    def healthy(self) -> bool:
        """True when it answers a real request (not just an open port)."""

    @abstractmethod
    def start(self, tools: Tools, timeout_s: float) -> None:
        """Start it and wait until it is healthy; raises ``StackError`` naming the log."""

    @abstractmethod
    def stop(self, tools: Tools) -> bool:
        """Stop it, keeping its data; False when it had to be killed. No-op when not running."""

    def wait_healthy(self, pid: int | None, timeout_s: float) -> None:
        """Poll until healthy; fail early if ``pid`` (when given) dies, else at the timeout."""
        wait_ready(
            self.name,
            self.ready,
            timeout_s=timeout_s,
            log=self.log,
            pid=pid,
            marker=self.marker,
        )

    def ready(self) -> bool:
        """``healthy`` while a start waits for it; a service whose wait can never end well
        (a refusal, not a delay) raises ``StackError`` here rather than waiting its timeout."""
        return self.healthy()

    def pid(self) -> int | None:
        """The pid of the running daemon, or None."""
        pid = read_pid(self.pid_file)
        return pid if alive(pid, self.marker) else None


class Daemon(Service):
    """A service launched detached by us, its pid in a pid file of ours, stopped by signal."""

    @abstractmethod
    def command(self, tools: Tools) -> list[str]:
        """Install or write whatever the daemon still lacks, then return its command line."""

    def environment(self) -> dict[str, str]:
        """Variables added to the daemon's environment."""
        return {}

    def start(self, tools: Tools, timeout_s: float) -> None:
        command = self.command(tools)
        pid = spawn_detached(
            command, log=self.log, cwd=self.pid_file.parent, env=self.environment()
        )
        self.pid_file.write_text(f"{pid}\n")
        self.wait_healthy(pid, timeout_s)

    def stop(self, tools: Tools) -> bool:
        pid = self.pid()
        clean = pid is None or terminate(pid, self.marker, STOP_TIMEOUT_S)
        self.pid_file.unlink(missing_ok=True)
        return clean
