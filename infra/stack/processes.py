"""Process plumbing for the local stack: run tools, start detached daemons, stop them, poll.

The services outlive the command that starts them, so they are started through a shell that
backgrounds them and exits: the daemon is re-parented to init and never becomes a zombie of a
long-lived caller (a pytest session). Every helper raises ``StackError`` with the command, the
log file and its last lines, so a failure says where to look.
"""

from __future__ import annotations

import os
import pwd
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from events.errors import StackError

POLL_INTERVAL_S = 0.25
TAIL_LINES = 25


def is_root() -> bool:
    """True when this process runs as root (PostgreSQL then runs as the ``postgres`` user)."""
    return os.geteuid() == 0


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file, or a note that it does not exist yet."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return f"({path} does not exist yet)"
    return "\n".join(text.splitlines()[-lines:])


def failure(message: str, log: Path | None) -> StackError:
    """A ``StackError`` that names the log file and quotes its end."""
    if log is None:
        return StackError(message)
    return StackError(f"{message}\nlog: {log}\n--- last lines ---\n{tail(log)}")


def run(
    cmd: Sequence[str],
    *,
    user: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600.0,
    log: Path | None = None,
) -> str:
    """Run a command to completion and return its stdout; ``user`` runs it as that OS user.

    Raises ``StackError`` with the command's output when it fails or times out.
    """
    argv = list(cmd)
    if user is not None and is_root():
        argv = ["runuser", "-u", user, "--", *argv]
    try:
        done = subprocess.run(
            argv,
            check=False,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            # A tool that daemonizes (pg_ctl) must not share our process group: a Ctrl-C on
            # the caller would otherwise reach the daemon it leaves behind.
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as e:
        raise failure(f"timed out after {timeout:.0f}s: {shlex.join(argv)}", log) from e
    except FileNotFoundError as e:
        raise StackError(f"cannot run {argv[0]!r}: not installed or not on PATH") from e
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise failure(f"command failed ({done.returncode}): {shlex.join(argv)}\n{output}", log)
    return done.stdout


def spawn_detached(
    cmd: Sequence[str], *, log: Path, cwd: Path, env: Mapping[str, str] | None = None
) -> int:
    """Start ``cmd`` in the background, outliving this process; return its pid.

    stdout and stderr are appended to ``log``; stdin is /dev/null. The command gets its own
    session, so signals meant for the caller's terminal never reach it.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    script = '"$@" </dev/null >>"$FQ_SPAWN_LOG" 2>&1 & echo $!'
    done = subprocess.run(
        ["sh", "-c", script, "sh", *cmd],
        cwd=cwd,
        env={**os.environ, **(env or {}), "FQ_SPAWN_LOG": str(log)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        start_new_session=True,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip().isdigit():
        raise failure(f"could not start {shlex.join(cmd)}: {done.stderr.strip()}", log)
    return int(done.stdout.strip())


def cmdline(pid: int) -> str:
    """The command line of a live process ('' when there is none or it is a zombie)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        if "\nState:\tZ" in status:
            return ""
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def alive(pid: int | None, marker: str) -> bool:
    """True when ``pid`` runs and its command line contains ``marker``.

    The marker guards against a stale pid file whose pid now belongs to something else.
    """
    return pid is not None and marker in cmdline(pid)


def rss_kib(pid: int | None) -> int | None:
    """Resident memory (VmRSS) of a process in KiB, or None when it is not running."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def read_pid(path: Path) -> int | None:
    """The pid on the first line of a pid file, or None when there is no usable one."""
    try:
        first = path.read_text().split("\n", 1)[0].strip()
    except (FileNotFoundError, PermissionError):
        return None
    return int(first) if first.isdigit() else None


def terminate(pid: int, marker: str, timeout_s: float) -> bool:
    """SIGTERM, wait up to ``timeout_s`` for a clean exit, then SIGKILL.

    Returns True when the process exited on its own, False when it had to be killed.
    """
    try:
        if alive(pid, marker):
            os.kill(pid, signal.SIGTERM)
        if poll(lambda: not alive(pid, marker), timeout_s):
            return True
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:  # it exited between our look and our signal
        return True
    poll(lambda: not alive(pid, marker), 10.0)
    return False


def poll(ready: Callable[[], bool], timeout_s: float, interval_s: float = POLL_INTERVAL_S) -> bool:
    """Call ``ready`` until it returns True or ``timeout_s`` passes; return the last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        if ready():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def wait_ready(
    name: str,
    ready: Callable[[], bool],
    *,
    timeout_s: float,
    log: Path,
    pid: int | None = None,
    marker: str = "",
) -> None:
    """Poll ``ready`` until it holds; fail early if ``pid`` dies, or at ``timeout_s``."""
    died = False

    def check() -> bool:
        nonlocal died
        if pid is not None and not alive(pid, marker):
            died = True
            return True
        return ready()

    if not poll(check, timeout_s):
        raise failure(f"{name} did not become ready within {timeout_s:.0f}s", log)
    if died:
        raise failure(f"{name} exited during start-up", log)


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def ensure_os_user(name: str) -> None:
    """Create a system user ``name`` when missing (root only; PostgreSQL refuses root)."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        run(["useradd", "--system", "--user-group", "--no-create-home", name])


def chown_tree(path: Path, user: str) -> None:
    """Give ``path`` and everything below it to ``user`` (and its primary group)."""
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)
