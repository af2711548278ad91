"""The faults the suite injects, each a function that does it and returns when it is over.

A fault's end is when the thing it broke is back: the broker answering after its restart,
the registry after its 30 s away, PostgreSQL after its restart, the broker let go after 20 s
frozen, a process killed (it is the supervisor's to restart). Recovery is timed from there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from infra.settings import StackSettings
from infra.stack.control import freeze, start_service, stop_service, thaw
from tests.faults.progress import PROCESSES
from tests.faults.supervisor import Supervisor

REGISTRY_AWAY_S = 30.0
BROKER_FROZEN_S = 20.0


@dataclass(frozen=True)
class Fault:
    """One kind of fault: its name, what it does, and the processes whose recovery is timed."""

    name: str
    inject: Callable[[StackSettings, Supervisor], None]
    affects: tuple[str, ...]


def _restart(service: str) -> Callable[[StackSettings, Supervisor], None]:
    def inject(settings: StackSettings, _: Supervisor) -> None:
        stop_service(settings, service)
        start_service(settings, service)

    return inject


def _stop_registry(settings: StackSettings, _: Supervisor) -> None:
    stop_service(settings, "registry")
    time.sleep(REGISTRY_AWAY_S)  # the fault is the registry's absence for this long
    start_service(settings, "registry")


def _freeze_broker(settings: StackSettings, _: Supervisor) -> None:
    freeze(settings, "kafka")
    try:
        time.sleep(BROKER_FROZEN_S)  # the fault is the broker's silence for this long
    finally:
        thaw(settings, "kafka")


def _kill(process: str) -> Callable[[StackSettings, Supervisor], None]:
    def inject(_: StackSettings, supervisor: Supervisor) -> None:
        supervisor.kill(process)

    return inject


FAULTS = (
    Fault("restart the broker", _restart("kafka"), PROCESSES),
    Fault("stop the registry 30 s", _stop_registry, PROCESSES),
    Fault("restart PostgreSQL", _restart("postgres"), PROCESSES),
    Fault("freeze the broker 20 s", _freeze_broker, PROCESSES),
    *(Fault(f"kill -9 the {p}", _kill(p), (p,)) for p in PROCESSES),
)
