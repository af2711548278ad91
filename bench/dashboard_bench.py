"""Dashboard benchmark: p50 and p95 of every ``/api/v1`` endpoint of ``fengqiao serve`` over
HTTP on a whole-city projection, beside ``GET /api/v1/health`` (an answer that reads nothing)
called in the same run, by the same clients, interleaved with them.

    .venv/bin/python -m bench.dashboard_bench [--days 33] [--calls 60] [--clients 4]

The projection is the simulated whole city (12,216 grids, about 40,000 workers) over ``days``
days from Monday 3 March 2025, written once with today's simulator to
``bench.dash.<seed>.<days>.*`` topics and projected once into the projection ``benchdash``
(rebuilt when its schema lacks a read model or a column of today's code); later runs reuse
both.

The endpoints are read from the served ``/openapi.json``, so an endpoint added to the app is
measured without touching this file; ``/api/v1/live`` (the Server-Sent Events stream, an
answer that never ends) is left out. Each endpoint is asked with the parameters its schema
declares, drawn from realistic values: the city, a district, a street, a village, a grid, a
department and a worker; a day, the month and the quarter of the log; every level its
``level`` allows; a few KPIs; a few cases. Map endpoints look within a street, as the map page
does. A combination the app refuses (4xx: a worker has no open cases, a count no denominator)
is found in a warm-up pass and dropped; the warm-up also pays each first call (the map's
unions), which is reported apart as ``first_ms``. Then every endpoint gets ``calls`` calls
spread over its combinations, each followed by a baseline call, shuffled, and run by
``clients`` concurrent clients.
"""

from __future__ import annotations

import argparse
import itertools
import os
import queue
import random
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.common import free_port, latency_figures, percentile, report
from bench.common import served as served_process
from bench.queries_bench import whole_city_projection
from bench.replay_bench import SEED, START
from projections.settings import ProjectorSettings
from projections.store import connect
from projections.versions import active_schema

__all__ = ["PROJECTION", "TARGET_MS", "combinations", "run"]

PROJECTION = "benchdash"
TARGET_MS = 50.0
BASELINE = "/api/v1/health"
SKIPPED = ("/api/v1/live",)  # an SSE stream never ends: it has no latency to measure
MAX_COMBINATIONS = 24  # per endpoint, drawn with a fixed seed from every combination
ROOT = Path(__file__).resolve().parent.parent
DRILL_KPIS = ("reported", "close_rate", "on_time_rate", "overdue")
MAP_PREFIX = "/api/v1/map/"


def settings_for(days: int) -> ProjectorSettings:
    return ProjectorSettings().model_copy(
        update={"topic_prefix": f"bench.dash.{SEED}.{days}.", "projector_batch": 20_000}
    )


@dataclass(frozen=True)
class Values:
    """The realistic values each kind of parameter is drawn from."""

    units: dict[str, str]  # level → unit parameter (``city``, ``street:…``)
    periods: list[tuple[str, str]]  # (period kind, at)
    cases: list[str]


def _units(conn: Any, schema: str) -> dict[str, str]:
    """A unit of each level, inside one another: the first district's first street's first
    village's first grid and that grid's first worker; the department with most cases."""
    chosen = {"city": "city"}
    parent: str | None = None
    for level in ("district", "street", "village", "grid", "worker"):
        row = conn.execute(
            f'SELECT code FROM "{schema}".units WHERE level = %s '
            "AND (%s::text IS NULL OR parent_code = %s) ORDER BY code LIMIT 1",
            (level, parent, parent),
        ).fetchone()
        if row is None:
            continue
        chosen[level], parent = f"{level}:{row[0]}", row[0]
    row = conn.execute(
        f'SELECT department_code FROM "{schema}".cases WHERE department_code IS NOT NULL '
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchone()
    if row is not None:
        chosen["department"] = f"department:{row[0]}"
    return chosen


def _values(
    settings: ProjectorSettings, projection: str, start: date, days: int
) -> tuple[Values, dict[str, int]]:
    with connect(settings.pg_dsn.get_secret_value()) as conn:
        schema = active_schema(conn, projection)
        if schema is None:
            raise RuntimeError(f"projection {projection} has no active schema")
        units = _units(conn, schema)
        cases = [
            r[0]
            for r in conn.execute(
                f'SELECT case_id FROM "{schema}".cases ORDER BY md5(case_id) LIMIT 8'
            ).fetchall()
        ]
        size = {
            name: conn.execute(query.format(s=schema)).fetchall()[0][0]
            for name, query in (
                ("cases", 'SELECT count(*) FROM "{s}".cases'),
                ("grids", "SELECT count(*) FROM \"{s}\".units WHERE level = 'grid'"),
                ("workers", "SELECT count(*) FROM \"{s}\".units WHERE level = 'worker'"),
            )
        }
    day = start + timedelta(days=days // 2)
    periods = [
        ("day", day.isoformat()),
        ("month", f"{start:%Y-%m}"),
        ("quarter", f"{start.year}-Q{(start.month - 1) // 3 + 1}"),
    ]
    return Values(units, periods, cases), size


def _choices(path: str, name: str, schema: dict[str, Any], values: Values) -> list[Any] | None:
    """The values to ask parameter ``name`` of ``path`` with; None: leave it at its default."""
    if name == "unit":
        if path.startswith(MAP_PREFIX):
            return [values.units[lvl] for lvl in ("street",) if lvl in values.units]
        return list(values.units.values())
    if name == "kpi":
        return list(DRILL_KPIS)
    if name == "case_id":
        return values.cases
    if name == "level":
        levels: list[Any] = schema.get("enum") or [lvl for lvl in values.units if lvl != "city"]
        if path.startswith(MAP_PREFIX):
            return [lvl for lvl in levels if lvl in ("district", "street", "grid")] or levels
        return levels
    return None


def _schema_of(param: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = param.get("schema", {})
    ref = schema.get("$ref") or next(
        (s.get("$ref") for s in schema.get("anyOf", []) if "$ref" in s), None
    )
    if ref:
        resolved: dict[str, Any] = components.get(ref.rsplit("/", 1)[-1], {})
        return resolved
    return schema


def combinations(
    path: str, parameters: list[dict[str, Any]], components: dict[str, Any], values: Values
) -> list[tuple[str, dict[str, str]]]:
    """Every (URL path, query) the endpoint is asked with: the product of its parameters'
    realistic values (a day, the month and the quarter when it takes a period), at most
    ``MAX_COMBINATIONS`` of them drawn with a fixed seed."""
    axes: list[list[dict[str, str]]] = []
    path_axes: list[list[tuple[str, str]]] = []
    names = {p["name"] for p in parameters}
    for param in parameters:
        name = param["name"]
        if name in ("period", "at"):
            continue
        choices = _choices(path, name, _schema_of(param, components), values)
        if choices is None:
            continue
        if param.get("in") == "path":
            path_axes.append([(name, str(c)) for c in choices])
        else:
            axes.append([{name: str(c)} for c in choices])
    if "period" in names:
        axes.append([{"period": kind, "at": at} for kind, at in values.periods])
    elif "at" in names:  # a day only (a worker's tracks)
        axes.append([{"at": at} for kind, at in values.periods if kind == "day"])
    found = []
    for path_values in itertools.product(*path_axes):
        url = path
        for name, value in path_values:
            url = url.replace("{" + name + "}", value)
        for query in itertools.product(*axes):
            found.append((url, {k: v for part in query for k, v in part.items()}))
    if len(found) > MAX_COMBINATIONS:
        found = random.Random(path).sample(found, MAX_COMBINATIONS)
    return found


def endpoints(openapi: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every GET path under ``/api/v1`` with its parameters, the baseline and the stream
    left out."""
    return {
        path: ops["get"].get("parameters", [])
        for path, ops in sorted(openapi["paths"].items())
        if path.startswith("/api/v1/") and "get" in ops and path not in (BASELINE, *SKIPPED)
    }


@contextmanager
def served(
    settings: ProjectorSettings, projection: str, pool: int, memo: int | None = None
) -> Iterator[str]:
    """``fengqiao serve`` over the projection as a real process; its URL once it answers."""
    port = free_port()
    env = {
        **os.environ,
        "FQ_PROJECTION": projection,
        "FQ_TOPIC_PREFIX": settings.topic_prefix,
        "FQ_DASHBOARD_PORT": str(port),
        "FQ_DASHBOARD_POOL": str(pool),
        "FQ_LOG_LEVEL": "warning",
        "PYTHONPATH": str(ROOT),
        **({} if memo is None else {"FQ_DASHBOARD_MEMO": str(memo)}),
    }
    with served_process("serve", env, f"http://127.0.0.1:{port}{BASELINE}"):
        yield f"http://127.0.0.1:{port}"


@dataclass
class Samples:
    """One endpoint's latencies (ms) and the answers that were not 200."""

    ms: list[float] = field(default_factory=list)
    failures: dict[int, int] = field(default_factory=dict)


def _call(client: httpx.Client, path: str, query: dict[str, str]) -> tuple[float, int]:
    """Milliseconds and the status; status 0 when the connection failed (counted, not
    measured)."""
    started = time.perf_counter()
    try:
        response = client.get(path, params=query)
    except httpx.TransportError:
        return (time.perf_counter() - started) * 1000, 0
    return (time.perf_counter() - started) * 1000, response.status_code


def warm_up(
    url: str, asked: dict[str, list[tuple[str, dict[str, str]]]]
) -> tuple[dict[str, list[tuple[str, dict[str, str]]]], dict[str, dict[str, Any]]]:
    """Each combination once: those refused are dropped; each endpoint's first call and the
    statuses of the refused, per endpoint."""
    kept: dict[str, list[tuple[str, dict[str, str]]]] = {}
    first: dict[str, dict[str, Any]] = {}
    with httpx.Client(base_url=url, timeout=300) as client:
        for endpoint, combos in asked.items():
            kept[endpoint], cold = [], []
            refused: dict[int, int] = {}
            for i, (path, query) in enumerate(combos):
                ms, status = _call(client, path, query)
                if i == 0:
                    first[endpoint] = {"first_ms": round(ms, 1)}
                if status == 200:
                    kept[endpoint].append((path, query))
                    cold.append(ms)
                else:
                    refused[status] = refused.get(status, 0) + 1
            first[endpoint]["combinations"] = len(kept[endpoint])
            if cold:  # each combination's first answer, one client: nothing kept yet
                cold_figures = latency_figures(cold)
                first[endpoint].update({f"cold_{k}": v for k, v in cold_figures.items()})
            if refused:
                first[endpoint]["refused"] = refused
    return kept, first


def measure(
    url: str, kept: dict[str, list[tuple[str, dict[str, str]]]], calls: int, clients: int
) -> dict[str, Samples]:
    """``calls`` calls of every endpoint over its combinations, each paired with a baseline
    call, shuffled and run by ``clients`` threads, each with its own connection."""
    jobs: list[tuple[str, str, dict[str, str]]] = []
    for endpoint, combos in kept.items():
        for path, query in itertools.islice(itertools.cycle(combos), calls if combos else 0):
            jobs += [(endpoint, path, query), (BASELINE, BASELINE, {})]
    random.Random(SEED).shuffle(jobs)
    work: queue.Queue[tuple[str, str, dict[str, str]]] = queue.Queue()
    for job in jobs:
        work.put(job)
    samples = {name: Samples() for name in [BASELINE, *kept]}
    lock = threading.Lock()

    def client_loop() -> None:
        with httpx.Client(base_url=url, timeout=300) as client:
            while True:
                try:
                    endpoint, path, query = work.get_nowait()
                except queue.Empty:
                    return
                ms, status = _call(client, path, query)
                with lock:
                    got = samples[endpoint]
                    if status == 200:
                        got.ms.append(ms)
                    else:
                        got.failures[status] = got.failures.get(status, 0) + 1

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def _figures(got: Samples) -> dict[str, Any]:
    if not got.ms:
        return {"calls": 0, "failures": got.failures}
    figures = latency_figures(got.ms)
    out: dict[str, Any] = {
        "calls": len(got.ms),
        **figures,
        "meets": percentile(got.ms, 0.95) <= TARGET_MS,
    }
    if got.failures:
        out["failures"] = got.failures
    return out


def benchmark(
    settings: ProjectorSettings,
    projection: str,
    values: Values,
    calls: int,
    clients: int,
    memo: int | None = None,
) -> dict[str, Any]:
    """Serve ``projection`` (``memo``: its ``FQ_DASHBOARD_MEMO``, None: the default), warm
    every endpoint up, measure; the figures of the run."""
    with served(settings, projection, pool=max(clients, 4), memo=memo) as url:
        openapi = httpx.get(f"{url}/openapi.json", timeout=30).json()
        components = openapi.get("components", {}).get("schemas", {})
        asked = {
            path: combinations(path, params, components, values)
            for path, params in endpoints(openapi).items()
        }
        kept, first = warm_up(url, asked)
        calls = max(calls, *(2 * len(c) for c in kept.values()))
        print(
            f"  {len(kept)} endpoints, {calls} calls each beside as many baseline calls, "
            f"{clients} clients",
            file=sys.stderr,
            flush=True,
        )
        began = time.perf_counter()
        samples = measure(url, kept, calls, clients)
        seconds = time.perf_counter() - began
    per_endpoint = {e: {**_figures(samples[e]), **first[e]} for e in kept}
    measured = {e: f for e, f in per_endpoint.items() if f.get("calls")}
    return {
        "memo": "default" if memo is None else memo,
        "clients": clients,
        "calls_per_endpoint": calls,
        "seconds": round(seconds, 1),
        "units": values.units,
        "periods": [f"{kind} {at}" for kind, at in values.periods],
        "skipped": list(SKIPPED),
        "baseline": _figures(samples[BASELINE]),
        "endpoints": per_endpoint,
        "p95_ms_worst": max((f["p95_ms"] for f in measured.values()), default=None),
        "endpoints_meeting_target": sum(f["meets"] for f in measured.values()),
        "endpoints_measured": len(measured),
        "missing_target": sorted(e for e, f in measured.items() if not f["meets"]),
        "unanswered": sorted(e for e in per_endpoint if e not in measured),
    }


def run(
    repeats: int = 60, days: int = 33, clients: int = 4, memo: int | None = None
) -> dict[str, Any]:
    """Every endpoint ``repeats`` times (at least twice per combination) beside as many
    baseline calls; p50 and p95 in milliseconds, and whether each p95 is within 50 ms."""
    settings = settings_for(days)
    ends = whole_city_projection(settings, days, PROJECTION)
    values, size = _values(settings, PROJECTION, START, days)
    figures = benchmark(settings, PROJECTION, values, repeats, clients, memo)
    return {"events": sum(ends.values()), "days": days, **size, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=33)
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--memo", type=int, default=None, help="FQ_DASHBOARD_MEMO of the server; 0: off"
    )
    args = parser.parse_args()
    name = "dashboard" if args.memo is None else f"dashboard-memo{args.memo}"
    report(name, run(args.calls, args.days, args.clients, args.memo))


if __name__ == "__main__":
    main()
