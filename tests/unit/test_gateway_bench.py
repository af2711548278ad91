"""The gateway benchmark's pure parts: vegeta's report read into the single-request figures,
and the repeats of one process count summed up."""

from __future__ import annotations

from bench import suite
from bench.gateway_bench import _middle, vegeta_figures

REPORT = {
    "latencies": {"50th": 4_200_000, "99th": 18_750_000, "max": 41_000_000, "mean": 5_000_000},
    "requests": 10_000,
    "rate": 1000.04,
    "status_codes": {"202": 9_990, "503": 10},
}


def test_vegeta_figures_are_milliseconds_and_count_what_was_not_202() -> None:
    figures = vegeta_figures(REPORT, 10.0)
    assert figures == {
        "single_requests": 10_000,
        "single_failed": 10,
        "single_offered_per_s": 1000,
        "single_achieved_per_s": 1000,
        "single_p50_ms": 4.2,
        "single_p99_ms": 18.75,
        "single_max_ms": 41.0,
    }
    assert vegeta_figures({**REPORT, "status_codes": {}}, 10.0)["single_failed"] == 10_000


def _run(batch: int, sdk: int, p99: float) -> dict[str, float]:
    return {
        "batch_events_per_s": batch,
        "batch_gateway_cpu_us_per_event": 50.0,
        "batch_client_cpu_us_per_event": 2.0,
        "sdk_events_per_s": sdk,
        "sdk_from_json_events_per_s": sdk // 2,
        "single_p50_ms": p99 / 4,
        "single_p99_ms": p99,
    }


def test_repeats_give_median_rates_and_the_singles_of_the_median_p99() -> None:
    middle = _middle(
        [_run(9_000, 20_000, 30.0), _run(11_000, 20_000, 12.0), _run(10_000, 18_000, 19.0)]
    )
    assert middle["batch_events_per_s"] == 10_000 and middle["sdk_events_per_s"] == 20_000
    assert middle["ratio"] == 0.5 and middle["ratio_to_sdk_from_json"] == 1.0
    assert middle["batch_events_per_s_each"] == [9_000, 11_000, 10_000]
    assert (middle["single_p99_ms"], middle["single_p50_ms"]) == (19.0, 4.75)


def test_registered_with_both_targets() -> None:
    ratio, p99 = suite.BENCHMARKS["gateway"].targets
    assert ratio.met({"ratio": 0.5}) is True and ratio.met({"ratio": 0.49}) is False
    assert p99.met({"single_p99_ms": 20}) is True and p99.met({"single_p99_ms": 20.1}) is False
