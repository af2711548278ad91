"""Handles on one service of a running local stack: its pid, stop, start, freeze and thaw.

``up`` and ``down`` act on the whole stack in order; these act on one service, as an operator
(or the fault-injection suite, on a stack of its own) would: restart the broker, stop the
registry for a while, freeze the broker with SIGSTOP and let it go on with SIGCONT. The
service is named as ``fengqiao stack status`` names it: ``postgres``, ``kafka``, ``registry``.
"""

from __future__ import annotations

import os
import signal

from events.errors import StackError
from infra.settings import StackSettings
from infra.stack.service import Service
from infra.stack.stack import services
from infra.stack.tools import ensure_tools

__all__ = ["SERVICES", "freeze", "service", "service_pid", "start_service", "stop_service", "thaw"]

SERVICES = ("postgres", "kafka", "registry")


def service(settings: StackSettings, name: str) -> Service:
    """The stack's service called ``name``; ``StackError`` when there is none."""
    for candidate in services(settings):
        if candidate.name == name:
            return candidate
    raise StackError(f"no service {name!r} in the local stack; the services are {SERVICES}")


def service_pid(settings: StackSettings, name: str) -> int:
    """The pid of the running service ``name``; ``StackError`` when it is not running."""
    pid = service(settings, name).pid()
    if pid is None:
        raise StackError(f"{name} is not running (data folder {settings.data_dir})")
    return pid


def stop_service(settings: StackSettings, name: str) -> bool:
    """Stop ``name`` cleanly (SIGTERM or ``pg_ctl stop``), keeping its data; False when it had
    to be killed. A service that is not running is left alone (True)."""
    return service(settings, name).stop(ensure_tools(install=False))


def start_service(settings: StackSettings, name: str) -> None:
    """Start ``name`` again and return once it answers; ``StackError`` (naming its log) when
    it does not within ``settings.start_timeout_s``, or when it is running already."""
    target = service(settings, name)
    if target.pid() is not None:
        raise StackError(f"{name} is running already (pid {target.pid()})")
    target.start(ensure_tools(install=False), settings.start_timeout_s)


def freeze(settings: StackSettings, name: str) -> int:
    """SIGSTOP the service ``name`` (it keeps its sockets but answers nothing); its pid.

    A frozen server looks to its clients like one behind a network partition, not like one
    that went away. ``thaw`` lets it go on.
    """
    pid = service_pid(settings, name)
    os.kill(pid, signal.SIGSTOP)
    return pid


def thaw(settings: StackSettings, name: str) -> int:
    """SIGCONT the service ``name`` after ``freeze``; its pid."""
    pid = service_pid(settings, name)
    os.kill(pid, signal.SIGCONT)
    return pid
