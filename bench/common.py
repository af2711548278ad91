"""Shared helpers for the benchmarks: unique topics on the local stack, medians, reports."""

from __future__ import annotations

import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

RESULTS = Path(__file__).resolve().parent / "results"


def fresh_topics(bootstrap: str, names: list[str], partitions: int = 12) -> dict[str, str]:
    """Create a unique topic per name (so a benchmark never writes the real log)."""
    run = uuid.uuid4().hex[:8]
    mapping = {name: f"bench.{run}.{name}" for name in names}
    admin = AdminClient({"bootstrap.servers": bootstrap})
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
