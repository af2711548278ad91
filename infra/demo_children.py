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
    expected_exit: bool = False  # a step that ends by itself (the backfill)

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

    def start(self, name: str, args: list[str], expected_exit: bool = False, **env: str) -> Child:
        """``fengqiao <args>`` with ``env`` over the demo's environment."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"demo-{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "infra.cli", *args],
                env={**self.env, **env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                process_group=0,  # the terminal's Ctrl-C is the demo's to hand on, in order
            )
        child = Child(name, args, log, process, expected_exit)
        self.started.append(child)
        return child

    def check(self) -> None:
        """Raises ``ChildDied`` for the first process that ended unasked (a step that ends
        by itself only when it failed)."""
        for child in self.started:
            code = child.process.poll()
            if code is None or (child.expected_exit and code == 0):
                continue
            raise ChildDied(child)

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
