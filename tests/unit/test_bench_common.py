"""The benchmarks' shared figures: nearest-rank percentiles and the CPU a process used."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.common import cpu_seconds, latency_figures, percentile

_BUSY = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"


def test_percentile_is_nearest_rank() -> None:
    samples = [float(x) for x in range(1, 101)]
    assert percentile(samples, 0.5) == 51.0  # round(49.5) is 50, the 51st value
    assert percentile(samples, 0.95) == 95.0
    assert percentile(samples, 0.99) == 99.0
    assert percentile([7.0], 0.95) == 7.0


def test_latency_figures_are_named_by_their_quantile() -> None:
    samples = [float(x) for x in range(100, 0, -1)]  # unordered input
    assert latency_figures(samples) == {"p50_ms": 51.0, "p95_ms": 95.0}
    assert latency_figures(samples, (0.5, 0.99)) == {"p50_ms": 51.0, "p99_ms": 99.0}


def test_cpu_seconds_counts_a_child_process_and_nothing_once_gone() -> None:
    # The parent spends no CPU of its own to speak of: what is counted is its child's.
    spawn = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {_BUSY!r}])"
    parent = subprocess.Popen(
        [sys.executable, "-c", spawn + "; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while cpu_seconds(parent.pid) < 0.3:
            assert time.monotonic() < deadline, "the child's CPU was never counted"
            time.sleep(0.05)
    finally:
        assert parent.stdin is not None
        parent.stdin.close()
        parent.wait()
    assert cpu_seconds(parent.pid) == 0.0
