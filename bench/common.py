"""Shared helpers for the benchmarks: unique topics on the local stack, medians, reports."""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from events.kafka_access import kafka_config

RESULTS = Path(__file__).resolve().parent / "results"


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


def timed(func: Callable[[], int]) -> tuple[float, int]:
    """Run ``func`` (which returns how many items it handled); seconds and count."""
    start = time.perf_counter()
    count = func()
    return time.perf_counter() - start, count


def median_rate(samples: list[tuple[float, int]]) -> float:
    return statistics.median(count / seconds for seconds, count in samples)


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
