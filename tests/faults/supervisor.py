"""The suite's supervisor: the platform's processes as real subprocesses, restarted when they end.

Each ``Supervised`` process is a ``fengqiao`` command with its environment and log. The
``Supervisor`` looks at them every ``POLL_S``: a process that ended is started again after
``RESTART_DELAY_S``, as systemd or Kubernetes would. Every end is recorded (which process,
its exit code, whether the suite killed it, and the fault going on at the time), so the report
can say which processes came back by themselves and which needed a restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

POLL_S = 0.2
RESTART_DELAY_S = 1.0
STOP_WAIT_S = 20.0


@dataclass(frozen=True)
class Ending:
    """One end of a supervised process."""

    name: str
    code: int
    killed: bool  # by the suite's kill -9; otherwise it ended by itself
    during: str  # the fault going on then ('' between faults)
    at: float  # time.monotonic()


@dataclass
class Supervised:
    """One platform process: a ``fengqiao`` command, its environment and its logs."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    killed: bool = False
    logs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        self.starts += 1
        log = self.workdir / f"{self.name}-{self.starts}.log"
        self.logs.append(log)
        self.killed = False
        with log.open("wb") as out:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                self.argv,
                env={**os.environ, **self.env},
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def ended(self) -> int | None:
        """Its exit code once it has ended, else None."""
        return None if self.process is None else self.process.poll()

    def kill(self) -> None:
        """``kill -9``: no shutdown, nothing flushed."""
        if self.process is not None and self.process.poll() is None:
            self.killed = True
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``STOP_WAIT_S``."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(30)

    def tail(self, lines: int = 30) -> str:
        if not self.logs:
            return ""
        text = self.logs[-1].read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


class Supervisor:
    """Restarts every supervised process that ended, on a thread of its own, and records why."""

    def __init__(self, processes: list[Supervised]) -> None:
        self.processes = {p.name: p for p in processes}
        self.endings: list[Ending] = []
        self.fault = ""  # what the suite is doing now, for the record
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def __getitem__(self, name: str) -> Supervised:
        return self.processes[name]

    def start(self, *names: str) -> None:
        """Start the processes named (all when none is), then watch them."""
        for name in names or tuple(self.processes):
            self.processes[name].start()
        if not self._thread.is_alive():
            self._thread.start()

    def kill(self, name: str) -> None:
        with self._lock:
            self.processes[name].kill()

    def ended_by_themselves(self) -> list[Ending]:
        return [e for e in self.endings if not e.killed]

    def _watch(self) -> None:
        while not self._halt.wait(POLL_S):
            for process in self.processes.values():
                with self._lock:
                    code = process.ended()
                    if code is None or self._halt.is_set():
                        continue
                    self.endings.append(
                        Ending(process.name, code, process.killed, self.fault, time.monotonic())
                    )
                if not process.killed:
                    time.sleep(RESTART_DELAY_S)  # a process that cannot start does not spin
                with self._lock:
                    if not self._halt.is_set():
                        process.start()

    def stop(self) -> None:
        """Stop watching, then stop every process (upstream first: the order given)."""
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join(10)
        for process in self.processes.values():
            process.stop()
