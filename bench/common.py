"""Shared helpers for the benchmarks: unique topics on the local stack, medians, percentiles,
CPU used by processes they start, reports."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from events.kafka_access import kafka_config
from infra.cli_process import prefixed
from infra.settings import ConnectionSettings
from infra.stack.acl_admin import grant_deployment
from infra.stack.topics_admin import admin_client, ensure_topics
from infra.topics import TopicSpec

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def fresh_topics(bootstrap: str, names: list[str], partitions: int = 12) -> dict[str, str]:
    """Create a unique topic per name (so a benchmark never writes the real log)."""
    run = uuid.uuid4().hex[:8]
    mapping = {name: f"bench.{run}.{name}" for name in names}
    admin = AdminClient({**kafka_config(bootstrap)})
    futures = admin.create_topics(
        [NewTopic(t, partitions, 1, config={"retention.ms": "-1"}) for t in mapping.values()]
    )
    for future in futures.values():
        future.result(30)
    return mapping


def deployment_topics(
    connection: ConnectionSettings,
    prefix: str,
    app_id: str = "fengqiao-workflow",
    extra: tuple[TopicSpec, ...] = (),
) -> None:
    """A deployment's topics under ``prefix`` (and ``extra``), and each principal's grants on
    them: on the locked-down stack a process the benchmark starts (the workflow as
    ``app_id``, the gateway, the dashboard) may touch only what is granted."""
    ensure_topics(admin_client(connection.kafka_bootstrap), connection, [*prefixed(prefix), *extra])
    grant_deployment(connection.kafka_bootstrap, prefix, app_id)


@contextmanager
def served(
    command: str, env: dict[str, str], probe: str, timeout_s: float = 120.0
) -> Iterator[subprocess.Popen[str]]:
    """``fengqiao <command>`` run with ``env`` as a real process, once ``probe`` (a URL) answers
    200; stopped at the end.

    Raises:
        RuntimeError: the server exited first (with its exit code and the end of its output),
            or did not answer within ``timeout_s``.
    """
    # the server's output, read back only when it fails to start
    with tempfile.TemporaryFile("w+", prefix=f"fq-bench-{command}-") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", command],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    output = log.read()[-4000:]
                    raise RuntimeError(
                        f"fengqiao {command} exited with {process.returncode}: {output}"
                    )
                try:
                    if httpx.get(probe, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"fengqiao {command} did not answer within {timeout_s:g} s")
                time.sleep(0.2)
            yield process
        finally:
            stop_process(process)


def timed(func: Callable[[], int]) -> tuple[float, int]:
    """Run ``func`` (which returns how many items it handled); seconds and count."""
    start = time.perf_counter()
    count = func()
    return time.perf_counter() - start, count


def median_rate(samples: list[tuple[float, int]]) -> float:
    return statistics.median(count / seconds for seconds, count in samples)


def percentile(samples: list[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0..1) of ``samples``."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency_figures(
    ms: list[float], quantiles: tuple[float, ...] = (0.5, 0.95), digits: int = 1
) -> dict[str, float]:
    """``p50_ms``, ``p95_ms`` … of latencies in milliseconds (nearest rank), rounded to
    ``digits`` decimals (0.1 ms by default)."""
    return {f"p{round(q * 100)}_ms": round(percentile(ms, q), digits) for q in quantiles}


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds used so far by process ``pid`` and its descendants (a
    server's worker processes: the living ones directly, the reaped ones through their parent),
    read from ``/proc``; 0 for a process that is gone."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for one in [pid, *_descendants(pid)]:
        try:
            # After the command (which may hold spaces): utime, stime, cutime, cstime (14-17).
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += sum(int(f) for f in fields[11:15]) / tick
    return total


def _descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except FileNotFoundError:
            continue
        found += [int(c) for c in children]
        frontier += [int(c) for c in children]
    return found


def report(name: str, figures: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    print(f"written {path}", file=sys.stderr)


def free_port() -> int:
    """A TCP port free on this machine now, for a server a benchmark or test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def stop_process(process: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL after 15 s: a server a benchmark or test started."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
