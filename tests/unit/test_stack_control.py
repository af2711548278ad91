"""The handles on one service of the local stack refuse what they cannot do, by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from events.errors import StackError
from infra.settings import StackSettings
from infra.stack.control import SERVICES, freeze, service, service_pid, start_service, thaw
from infra.stack.processes import cmdline, poll


def _empty(tmp_path: Path) -> StackSettings:
    """A stack whose data folder holds nothing: no service of it runs."""
    return StackSettings(data_dir=tmp_path)


def test_each_service_of_the_stack_is_found_by_its_name(tmp_path: Path) -> None:
    assert [service(_empty(tmp_path), name).name for name in SERVICES] == list(SERVICES)


def test_an_unknown_service_is_refused_with_the_names_there_are(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="'zookeeper'.*postgres"):
        service(_empty(tmp_path), "zookeeper")


@pytest.mark.parametrize("handle", [service_pid, freeze, thaw])
def test_a_service_that_is_not_running_has_no_pid_to_signal(tmp_path: Path, handle: object) -> None:
    with pytest.raises(StackError, match="kafka is not running"):
        handle(_empty(tmp_path), "kafka")  # type: ignore[operator]


def test_a_stale_pid_file_is_not_taken_for_the_running_service(tmp_path: Path) -> None:
    settings = _empty(tmp_path)
    pid_file = service(settings, "registry").pid_file
    pid_file.parent.mkdir(parents=True)
    pid_file.write_text("1\n")  # init: alive, but not the registry
    with pytest.raises(StackError, match="registry is not running"):
        freeze(settings, "registry")


def test_starting_a_service_that_runs_already_is_refused(tmp_path: Path) -> None:
    settings = _empty(tmp_path)
    kafka = service(settings, "kafka")
    kafka.pid_file.parent.mkdir(parents=True)
    # A process whose command line holds the broker's marker stands for the running broker
    # (not `sh -c`: a shell may exec its one command, and the marker leaves the command line).
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", kafka.marker])
    try:
        # Until its exec is through, a new process's /proc cmdline reads empty.
        assert poll(lambda: kafka.marker in cmdline(stand_in.pid), 10)
        kafka.pid_file.write_text(f"{stand_in.pid}\n")
        with pytest.raises(StackError, match="kafka is running already"):
            start_service(settings, "kafka")
    finally:
        stand_in.kill()
        stand_in.wait()
