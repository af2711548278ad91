"""The benchmark suite: named benchmarks, each Fengqiao next to its baseline in the same run,
judged against their targets and reported as JSON and a markdown table.

A benchmark is a module with ``run(repeats: int) -> dict`` returning its figures (medians over
``repeats``, the ratio to the baseline measured side by side). ``BENCHMARKS`` names each one,
the module that runs it and the targets its figures are judged by; the module is imported
only when the benchmark runs. A benchmark whose module does not exist yet is reported as
"not available yet", never with made-up figures.

Registration point: to add a benchmark, write ``bench/<name>_bench.py`` with ``run`` and add
its entry below, with real targets where the issue gives them. ``min_repeats`` keeps a
benchmark whose ``repeats`` means samples (the queries' calls) from being starved by a small
``--repeats``.
"""

from __future__ import annotations

import importlib
import json
import operator
import os
import platform
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import RESULTS

__all__ = ["BENCHMARKS", "Benchmark", "Outcome", "Target", "markdown", "run_suite", "write"]

_OPS: dict[str, Callable[[Any, Any], bool]] = {">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True)
class Target:
    """A figure and the bound it should meet, e.g. ``Target("ratio", ">=", 0.5)``."""

    figure: str
    op: str
    value: float
    unit: str = ""

    def met(self, figures: dict[str, Any]) -> bool | None:
        """Whether the figure meets the bound; None when the run did not give the figure."""
        got = figures.get(self.figure)
        return None if got is None else _OPS[self.op](got, self.value)

    def __str__(self) -> str:
        return f"{self.figure} {self.op} {self.value:g}{self.unit}"


@dataclass(frozen=True)
class Benchmark:
    """One named benchmark: what it compares, the module that runs it, its targets."""

    name: str
    compares: str
    module: str
    ratio: str | None = "ratio"  # the figure that is Fengqiao's share of the baseline
    targets: tuple[Target, ...] = ()
    min_repeats: int = 1
    shown: tuple[str, ...] = ()  # the figures the markdown table shows (all of them in JSON)


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark(
            "publish",
            "SDK publish vs the raw confluent-kafka producer",
            "bench.publish_bench",
            targets=(Target("ratio", ">=", 0.5),),
            shown=("events", "sdk_events_per_s", "raw_events_per_s"),
        ),
        Benchmark(
            "workflow",
            "workflow (fengqiao process) vs a faust pass-through agent",
            "bench.workflow_bench",
            targets=(Target("workflow_best_per_s", ">=", 10_000, "/s"), Target("ratio", ">=", 0.5)),
            shown=(
                "submissions",
                "workflow_per_s",
                "passthrough_per_s",
                "workflow_2_workers_per_s",
                "passthrough_2_workers_per_s",
                "ratio_2_workers",
            ),
        ),
        Benchmark(
            "replay",
            "projector replay vs raw consume+decode of the same log",
            "bench.replay_bench",
            targets=(Target("replay_per_s", ">=", 30_000, "/s"), Target("ratio", ">=", 0.4)),
            shown=(
                "events",
                "replay_per_s",
                "consume_decode_per_s",
                "replay_2_workers_per_s",
                "ratio_2_workers",
                "consume_decode_2_readers_per_s",
                "ratio_2_workers_to_2_readers",
                "peak_rss_mib",
            ),
        ),
        Benchmark(
            "freshness",
            "submission → visible in the read model, p50 and p99, at 1,000 "
            "submissions/s sustained for 60 s",
            "bench.freshness_bench",
            ratio=None,
            shown=(
                "achieved_per_s",
                "p50_ms",
                "p99_ms",
                "workflow_per_s",
                "low_rate",
                "low_p50_ms",
                "low_p99_ms",
            ),
        ),
        Benchmark(
            "queries",
            "p95 latency of the read-model queries over all 12,216 grids",
            "bench.queries_bench",
            ratio=None,
            min_repeats=20,
            shown=("grids", "calls", "p95_ms_all_queries", "p95_ms_worst_query"),
        ),
        Benchmark(
            "dashboard",
            "p95 latency of every /api/v1 endpoint of `fengqiao serve` over HTTP, 4 concurrent "
            "clients, whole city (12,216 grids, 52,472 workers, 33 days), beside "
            "GET /api/v1/health",
            "bench.dashboard_bench",
            ratio=None,
            targets=(Target("p95_ms_worst", "<=", 50, " ms"),),
            min_repeats=40,
            shown=(
                "events",
                "cases",
                "grids",
                "workers",
                "baseline",
                "p95_ms_worst",
                "endpoints_meeting_target",
                "endpoints_measured",
                "missing_target",
            ),
        ),
        Benchmark(
            "gateway",
            "events/s through the HTTP gateway's POST /v1/events/batch beside the SDK publishing "
            "the same events in the same run; single POST /v1/events p99 at 1,000 requests/s",
            "bench.gateway_bench",
            targets=(Target("ratio", ">=", 0.5), Target("single_p99_ms", "<=", 20, " ms")),
            shown=(
                "events",
                "batch_events_per_s",
                "sdk_events_per_s",
                "sdk_from_json_events_per_s",
                "ratio_workers",
                "single_achieved_per_s",
                "single_p50_ms",
                "single_p99_ms",
                "single_workers",
                "load_1min",
            ),
        ),
    )
}


class NotAvailable(Exception):
    """The benchmark's module does not exist yet."""


@dataclass
class Outcome:
    """What one benchmark gave: ``ok`` with figures, ``not available yet``, or ``failed``."""

    name: str
    status: str
    figures: dict[str, Any] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _load(bench: Benchmark) -> Callable[[int], dict[str, Any]]:
    try:
        module = importlib.import_module(bench.module)
    except ModuleNotFoundError as exc:
        if exc.name != bench.module:
            raise  # the module exists, but something it imports does not
        raise NotAvailable(f"{bench.module} does not exist yet") from exc
    run: Callable[[int], dict[str, Any]] = module.run
    return run


def run_one(bench: Benchmark, repeats: int) -> Outcome:
    """Run one benchmark; its errors are kept in the outcome, never raised."""
    began = time.perf_counter()
    unjudged = [{"target": str(t), "met": None} for t in bench.targets]
    try:
        figures = _load(bench)(max(repeats, bench.min_repeats))
    except NotAvailable as exc:
        return Outcome(bench.name, "not available yet", targets=unjudged, detail=str(exc))
    except Exception as exc:  # noqa: BLE001 (a failed benchmark is reported, the others run)
        return Outcome(
            bench.name,
            "failed",
            targets=unjudged,
            seconds=time.perf_counter() - began,
            detail=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}",
        )
    judged = [{"target": str(t), "met": t.met(figures)} for t in bench.targets]
    return Outcome(bench.name, "ok", figures, judged, time.perf_counter() - began)


def run_suite(
    names: Iterable[str], repeats: int, started: Callable[[Benchmark], None] | None = None
) -> list[Outcome]:
    """Run the named benchmarks in order (``KeyError`` for an unknown name)."""
    chosen = [BENCHMARKS[name] for name in names]
    outcomes = []
    for bench in chosen:
        if started is not None:
            started(bench)
        outcomes.append(run_one(bench, repeats))
    return outcomes


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k} {_cell(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(outcomes: list[Outcome], repeats: int, when: datetime) -> str:
    """A table: each benchmark's figures, its ratio, its targets and whether they are met."""
    lines = [
        f"# Benchmark suite, {when:%Y-%m-%d %H:%M} UTC",
        "",
        f"Medians over {repeats} repeat(s); each ratio measured side by side in one run.",
        "",
        "| benchmark | compares | figures | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        bench = BENCHMARKS[outcome.name]
        figures = "<br>".join(
            f"{k}: {_cell(v)}"
            for k, v in outcome.figures.items()
            if k != bench.ratio and (not bench.shown or k in bench.shown)
        )
        figures = figures or outcome.status
        ratio = _cell(outcome.figures.get(bench.ratio, "")) if bench.ratio else "—"
        targets = "<br>".join(t["target"] for t in outcome.targets) or "—"
        met = (
            "<br>".join(
                {True: "yes", False: "**no**", None: "?"}[t["met"]] for t in outcome.targets
            )
            or "—"
        )
        if not outcome.ok:
            met = outcome.status
        lines.append(
            f"| {bench.name} | {bench.compares} | {figures} | {ratio} | {targets} | {met} |"
        )
    return "\n".join(lines) + "\n"


def write(
    outcomes: list[Outcome], repeats: int, when: datetime, folder: Path = RESULTS
) -> tuple[Path, Path]:
    """``suite-<timestamp>.json`` and ``.md`` in ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"suite-{when:%Y%m%dT%H%M%SZ}"
    document = {
        "started": when.isoformat(),
        "repeats": repeats,
        "host": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
        },
        "benchmarks": {
            o.name: {
                "status": o.status,
                "compares": BENCHMARKS[o.name].compares,
                "figures": o.figures,
                "targets": o.targets,
                "seconds": round(o.seconds, 1),
                **({"detail": o.detail} if o.detail else {}),
            }
            for o in outcomes
        },
    }
    json_path, md_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(markdown(outcomes, repeats, when))
    return json_path, md_path


def now() -> datetime:
    return datetime.now(UTC)
