"""The processes ``fengqiao demo`` starts and owns: each ``fengqiao <command>`` in a process group
of its own (so a Ctrl-C at the terminal reaches the demo alone, which stops them in order), its
output in ``<data>/logs/demo-<name>.log``, its death noticed and told with the tail of its log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from events.errors import FengqiaoError

__all__ = ["Child", "ChildDied", "Children"]

TAIL_LINES = 20


class ChildDied(FengqiaoError):
    """A process of the demo ended on its own: which one, its exit code and its log's tail."""

    def __init__(self, child: Child) -> None:
        code = child.process.returncode
        super().__init__(
            f"{child.name} (fengqiao {child.args[0]}) exited with {code}; "
            f"the end of {child.log}:\n{child.tail()}"
        )
        self.child = child


@dataclass
class Child:
    """One ``fengqiao`` process of the demo."""

    name: str
    args: list[str]
    log: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    expected_exit: bool = False  # a step that ends by itself (the backfill)
    restart_on: int | None = None  # the exit code that asks its supervisor for a restart
    restarts: int = 0

    def tail(self, lines: int = TAIL_LINES) -> str:
        try:
            with self.log.open(errors="replace") as f:
                return "".join(deque(f, maxlen=lines)).rstrip()
        except OSError as exc:
            return f"(no log: {exc})"

    @property
    def running(self) -> bool:
        return self.process.poll() is None


@dataclass
class Children:
    """Starts ``fengqiao`` commands with their logs under ``log_dir`` and stops them."""

    log_dir: Path
    env: dict[str, str]
    started: list[Child] = field(default_factory=list)

    def start(
        self,
        name: str,
        args: list[str],
        expected_exit: bool = False,
        restart_on: int | None = None,
        **env: str,
    ) -> Child:
        """``fengqiao <args>`` with ``env`` over the demo's environment."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"demo-{name}.log"
        merged = {**self.env, **env}
        child = Child(name, args, log, _spawn(args, merged, log, "wb"), merged)
        child.expected_exit, child.restart_on = expected_exit, restart_on
        self.started.append(child)
        return child

    def check(self) -> list[Child]:
        """The children restarted because they asked for it (``restart_on``), as a supervisor
        would; raises ``ChildDied`` for the first other process that ended unasked (a step that
        ends by itself only when it failed)."""
        restarted = []
        for child in self.started:
            code = child.process.poll()
            if code is None or (child.expected_exit and code == 0):
                continue
            if code == child.restart_on:
                child.process = _spawn(child.args, child.env, child.log, "ab")
                child.restarts += 1
                restarted.append(child)
                continue
            raise ChildDied(child)
        return restarted

    def stop(self, child: Child, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int:
        """Ask ``child`` to end with ``sig``, wait for it (killed after ``timeout_s``), and
        forget it; its exit code."""
        if child.running:
            try:
                child.process.send_signal(sig)
                child.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait()
        if child in self.started:
            self.started.remove(child)
        return child.process.returncode

    def stop_all(self, order: list[str], timeout_s: float = 30.0) -> list[tuple[str, int]]:
        """Stop the running children, those named in ``order`` first and in that order (a
        simulation with SIGINT, so it ends with its summary), the rest after; each one's
        name and exit code."""
        ranked = sorted(
            self.started,
            key=lambda c: order.index(c.name) if c.name in order else len(order),
        )
        stopped = []
        for child in ranked:
            sig = signal.SIGINT if child.args[0] == "simulate" else signal.SIGTERM
            stopped.append((child.name, self.stop(child, sig, timeout_s)))
        return stopped


def _spawn(args: list[str], env: dict[str, str], log: Path, mode: str) -> subprocess.Popen[bytes]:
    with log.open(mode) as out:
        return subprocess.Popen(
            [sys.executable, "-m", "infra.cli", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            process_group=0,  # the terminal's Ctrl-C is the demo's to hand on, in order
        )
