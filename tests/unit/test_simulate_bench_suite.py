"""The benchmark runner behind ``fengqiao bench`` (bench/suite.py): a benchmark whose module
does not exist yet is "not available yet", never figures; a failing one is reported and the
others still run; targets are judged on the figures; the markdown table says it all."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import suite
from bench.suite import Benchmark, Target

WHEN = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake_benchmarks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    good = types.ModuleType("fq_fake_good")
    good.run = lambda repeats: {"repeats": repeats, "fast_per_s": 900.0, "ratio": 0.45}  # type: ignore[attr-defined]
    bad = types.ModuleType("fq_fake_bad")

    def explode(repeats: int) -> dict[str, object]:
        raise RuntimeError("broker went away")

    bad.run = explode  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fq_fake_good", good)
    monkeypatch.setitem(sys.modules, "fq_fake_bad", bad)
    monkeypatch.setattr(
        suite,
        "BENCHMARKS",
        {
            "good": Benchmark(
                "good",
                "fast vs raw",
                "fq_fake_good",
                targets=(Target("ratio", ">=", 0.5), Target("fast_per_s", ">=", 500)),
            ),
            "bad": Benchmark("bad", "x vs y", "fq_fake_bad"),
            "sampled": Benchmark(
                "sampled", "p95 of calls", "fq_fake_good", ratio=None, min_repeats=20
            ),
            "later": Benchmark(
                "later",
                "p99 freshness",
                "fq_fake_not_written_yet",
                ratio=None,
                targets=(Target("p99_s", "<=", 2.0, "s"),),
            ),
        },
    )
    yield


def test_figures_are_judged_against_targets(fake_benchmarks: None) -> None:
    [good] = suite.run_suite(["good"], repeats=3)
    assert good.ok and good.figures["repeats"] == 3
    assert good.targets == [
        {"target": "ratio >= 0.5", "met": False},
        {"target": "fast_per_s >= 500", "met": True},
    ]


def test_a_benchmark_that_needs_samples_gets_at_least_its_minimum(fake_benchmarks: None) -> None:
    [few] = suite.run_suite(["sampled"], repeats=3)
    [many] = suite.run_suite(["sampled"], repeats=50)
    assert (few.figures["repeats"], many.figures["repeats"]) == (20, 50)


def test_a_missing_module_is_not_available_and_a_failure_does_not_stop_the_rest(
    fake_benchmarks: None,
) -> None:
    bad, later, good = suite.run_suite(["bad", "later", "good"], repeats=1)
    assert bad.status == "failed" and "RuntimeError: broker went away" in bad.detail
    assert later.status == "not available yet" and later.figures == {}
    assert "fq_fake_not_written_yet does not exist yet" in later.detail
    assert good.ok


def test_a_module_that_fails_to_import_is_a_failure_not_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "fq_fake_broken.py").write_text("import fq_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(suite, "BENCHMARKS", {"x": Benchmark("x", "x", "fq_fake_broken")})
    [x] = suite.run_suite(["x"], repeats=1)
    assert x.status == "failed" and "fq_no_such_dependency" in x.detail


def test_results_are_written_as_json_and_a_markdown_table(
    fake_benchmarks: None, tmp_path: Path
) -> None:
    outcomes = suite.run_suite(["good", "later"], repeats=2)
    json_path, md_path = suite.write(outcomes, 2, WHEN, tmp_path)
    assert json_path.name == "suite-20261126T120000Z.json" and md_path.suffix == ".md"
    document = json.loads(json_path.read_text())
    assert document["benchmarks"]["good"]["figures"]["ratio"] == 0.45
    assert document["benchmarks"]["later"]["status"] == "not available yet"
    table = md_path.read_text()
    assert (
        "| good | fast vs raw | repeats: 2<br>fast_per_s: 900 | 0.450 | ratio >= 0.5<br>"
        "fast_per_s >= 500 | **no**<br>yes |" in table
    )
    assert (
        "| later | p99 freshness | not available yet | — | p99_s <= 2s | not available yet |"
        in table
    )


def test_the_registered_names_include_those_still_being_built() -> None:
    assert list(suite.BENCHMARKS) == [
        "publish",
        "workflow",
        "replay",
        "freshness",
        "queries",
        "dashboard",
        "gateway",
    ]
