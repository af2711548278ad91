"""The dashboard benchmark's pure parts: which endpoints it measures, the parameter
combinations it asks each with, and how an endpoint is judged."""

from __future__ import annotations

from typing import Any

from bench import suite
from bench.dashboard_bench import (
    BASELINE,
    MAX_COMBINATIONS,
    Samples,
    Values,
    _figures,
    combinations,
    endpoints,
)

VALUES = Values(
    units={
        "city": "city",
        "district": "district:d1",
        "street": "street:s1",
        "grid": "grid:g1",
        "worker": "worker:w1",
    },
    periods=[("day", "2025-03-19"), ("month", "2025-03"), ("quarter", "2025-Q1")],
    cases=["c-1", "c-2"],
)


def _query(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema or {"type": "string"}}


def test_every_api_get_but_the_baseline_and_the_stream_is_measured() -> None:
    openapi = {
        "paths": {
            "/api/v1/health": {"get": {}},
            "/api/v1/live": {"get": {}},
            "/api/v1/unit": {"get": {"parameters": [_query("unit")]}},
            "/api/v1/kpis": {"get": {}},
            "/overview": {"get": {}},
            "/api/v1/thing": {"post": {}},
        }
    }
    assert endpoints(openapi) == {"/api/v1/kpis": [], "/api/v1/unit": [_query("unit")]}


def test_a_panel_is_asked_for_every_unit_in_every_kind_of_period() -> None:
    params = [_query("unit"), _query("period"), _query("at"), _query("limit")]
    combos = combinations("/api/v1/overview/tiles", params, {}, VALUES)
    assert len(combos) == len(VALUES.units) * 3
    assert {q["unit"] for _, q in combos} == set(VALUES.units.values())
    assert {(q["period"], q["at"]) for _, q in combos} == set(VALUES.periods)
    assert all("limit" not in q for _, q in combos)  # left at its default


def test_a_path_parameter_is_filled_in_and_levels_come_from_the_schema() -> None:
    case = [{"name": "case_id", "in": "path", "schema": {"type": "string"}}]
    assert combinations("/api/v1/cases/{case_id}", case, {}, VALUES) == [
        ("/api/v1/cases/c-1", {}),
        ("/api/v1/cases/c-2", {}),
    ]
    level = {"name": "level", "in": "query", "schema": {"$ref": "#/components/schemas/Level"}}
    components = {"Level": {"enum": ["district", "street", "village", "grid", "worker"]}}
    ranks = combinations("/api/v1/rankings", [level], components, VALUES)
    assert sorted(q["level"] for _, q in ranks) == sorted(components["Level"]["enum"])


def test_the_map_looks_within_a_street_at_three_levels() -> None:
    level = {"name": "level", "in": "query", "schema": {"enum": ["district", "village", "grid"]}}
    combos = combinations("/api/v1/map/shapes", [_query("unit"), level], {}, VALUES)
    assert {q["unit"] for _, q in combos} == {"street:s1"}
    assert {q["level"] for _, q in combos} == {"district", "grid"}


def test_a_panel_of_one_day_is_asked_for_the_day() -> None:
    combos = combinations("/api/v1/workers/track", [_query("unit"), _query("at")], {}, VALUES)
    assert {q["at"] for _, q in combos} == {"2025-03-19"}
    assert "period" not in combos[0][1]


def test_combinations_are_capped_and_drawn_the_same_way_each_run() -> None:
    params = [_query("unit"), _query("kpi"), _query("period")]
    first = combinations("/api/v1/drill", params, {}, VALUES)
    assert len(first) == MAX_COMBINATIONS
    assert first == combinations("/api/v1/drill", params, {}, VALUES)


def test_an_endpoint_is_judged_by_its_p95_and_its_failures_kept() -> None:
    fast = _figures(Samples(ms=[10.0] * 95 + [60.0] * 5))
    assert fast["p95_ms"] == 10.0 and fast["meets"] is True
    slow = _figures(Samples(ms=[10.0] * 90 + [60.0] * 10, failures={500: 2}))
    assert slow["meets"] is False and slow["failures"] == {500: 2}
    assert _figures(Samples(failures={0: 3})) == {"calls": 0, "failures": {0: 3}}


def test_registered_with_the_target_on_the_worst_endpoint() -> None:
    bench = suite.BENCHMARKS["dashboard"]
    assert bench.module == "bench.dashboard_bench"
    [target] = bench.targets
    assert target.met({"p95_ms_worst": 50.0}) is True
    assert target.met({"p95_ms_worst": 50.1}) is False
    assert BASELINE == "/api/v1/health"
