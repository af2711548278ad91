"""Query benchmark: latency of the dashboard's read-model queries on a whole-city projection
(all 12,216 grids), p50 and p95 per query over repeated calls.

    .venv/bin/python -m bench.queries_bench [--days 33] [--calls 20]

The projection is the replay benchmark's log (``bench.replay_bench``, 33 days from Monday
3 March 2025) projected once into the projection ``benchcity`` and kept for later runs. A
projection made by code that had fewer read models (no rollups yet) is rebuilt: replayed
into a new schema, which is promoted. The periods are those a dashboard asks for: the
quarter and the month the log is in (2025-Q1, March 2025), and its first day. The baseline
beside each query is ``SELECT 1`` through the same connection: what any answer costs before
it reads a row.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from bench.common import report
from bench.replay_bench import SEED, START, whole_city_log
from events.codec import AvroCodec
from events.registry import SchemaRegistry
from projections import queries
from projections.projector import Projector
from projections.replay import replay
from projections.settings import ProjectorSettings
from projections.store import connect
from projections.versions import (
    active_schema,
    lacks_read_models,
    live_schema,
    mark_ready,
    new_replay_schema,
    promote,
)

PROJECTION = "benchcity"


def _active_lacks_read_models(settings: ProjectorSettings, projection: str) -> bool:
    """Whether the projection has an active schema and it lacks read models or columns of
    them (``lacks_read_models``)."""
    with connect(settings.pg_dsn.get_secret_value()) as conn:
        schema = active_schema(conn, projection) if _has_meta(conn) else None
        return schema is not None and lacks_read_models(conn, schema)


def _has_meta(conn: Any) -> bool:
    return bool(
        conn.execute("SELECT to_regclass('fq_meta.active_projection') IS NOT NULL").fetchone()[0]
    )


def _rebuild(settings: ProjectorSettings, projection: str) -> None:
    """Replay the log into a new schema of the projection (two workers) and promote it."""
    started = time.perf_counter()
    with connect(settings.pg_dsn.get_secret_value()) as conn:
        schema = new_replay_schema(conn, projection, None)
    replay(settings, schema, workers=2)
    with connect(settings.pg_dsn.get_secret_value()) as conn:
        mark_ready(conn, schema)
        promote(conn, projection, schema)
    print(
        f"  projection rebuilt: {schema} replayed in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )


def whole_city_projection(
    settings: ProjectorSettings, days: int, projection: str = PROJECTION
) -> dict[tuple[str, int], int]:
    """The whole-city log on ``settings.topic_prefix`` (written unless complete) projected
    into ``projection`` up to its end; a projection that lacks a read model (or column) of today's code
    is replayed anew first. The log's end offsets."""
    codec = AvroCodec(SchemaRegistry(settings.registry_url))
    ends = whole_city_log(settings, codec, days)
    if _active_lacks_read_models(settings, projection):
        _rebuild(settings, projection)
    with connect(settings.pg_dsn.get_secret_value()) as conn:
        schema = live_schema(conn, projection)
    started = time.perf_counter()
    Projector(settings, schema, codec, stop_at=ends).run()
    print(
        f"  projection {schema} up to date in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    codec.registry.close()
    return ends


def _months_after(first: date, months: int) -> date:
    index = first.month - 1 + months
    return date(first.year + index // 12, index % 12 + 1, 1)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(repeats: int = 20, days: int = 33) -> dict[str, Any]:
    """Each query ``repeats`` times; p50 and p95 in milliseconds."""
    settings = ProjectorSettings().model_copy(
        update={
            "topic_prefix": f"bench.replay.{SEED}.{days}.",
            "projector_batch": 20_000,
        }
    )
    whole_city_projection(settings, days)
    first = date(START.year, (START.month - 1) // 3 * 3 + 1, 1)
    quarter = (first, _months_after(first, 3))
    month = (START.replace(day=1), _months_after(START.replace(day=1), 1))
    day = (START, START + timedelta(days=1))
    calls: dict[str, Callable[[Any], Any]] = {
        "baseline SELECT 1": lambda c: c.execute("SELECT 1").fetchall(),
        "statistics grid × quarter (12,216 grids)": lambda c: queries.statistics(
            c, PROJECTION, "grid", "quarter", *quarter
        ),
        "statistics grid × month": lambda c: queries.statistics(
            c, PROJECTION, "grid", "month", *month
        ),
        "statistics grid × day": lambda c: queries.statistics(c, PROJECTION, "grid", "day", *day),
        "ranking grids by discovery rate": lambda c: queries.ranking(
            c, PROJECTION, "grid", "discovery_rate", *quarter
        ),
        "statistics district × month": lambda c: queries.statistics(
            c, PROJECTION, "district", "month", *month
        ),
        "statistics department × quarter": lambda c: queries.statistics(
            c, PROJECTION, "department", "quarter", *quarter
        ),
        "case pipeline by district": lambda c: queries.case_pipeline(c, PROJECTION, "district"),
        "overdue by department": lambda c: queries.overdue(c, PROJECTION, "department"),
        "overdue distribution": lambda c: queries.overdue_distribution(c, PROJECTION),
        "hot words city × quarter": lambda c: queries.hot_words(
            c, PROJECTION, f"{START.year}-Q{(START.month - 1) // 3 + 1}"
        ),
        "worker assessment (40k workers)": lambda c: queries.worker_assessment(
            c, PROJECTION, *quarter
        ),
    }
    figures: dict[str, Any] = {
        "calls": repeats,
        "grids": None,
        "periods": {
            k: [str(d) for d in v]
            for k, v in (("quarter", quarter), ("month", month), ("day", day))
        },
    }
    with connect(settings.pg_dsn.get_secret_value()) as conn:
        grids = queries.statistics(conn, PROJECTION, "grid", "quarter", *quarter)
        figures["grids"] = len({r["code"] for r in grids.rows})
        latencies: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(repeats):
            for name, call in calls.items():
                started = time.perf_counter()
                call(conn)
                latencies[name].append((time.perf_counter() - started) * 1000)
                conn.commit()
    figures["queries_ms"] = {
        name: {"p50": round(statistics.median(v), 1), "p95": round(_percentile(v, 0.95), 1)}
        for name, v in latencies.items()
    }
    dashboard = [v for name, v in latencies.items() if not name.startswith("baseline")]
    figures["p95_ms_all_queries"] = round(_percentile([x for v in dashboard for x in v], 0.95), 1)
    figures["p95_ms_worst_query"] = max(
        q["p95"] for n, q in figures["queries_ms"].items() if not n.startswith("baseline")
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=33)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    report("queries", run(args.calls, args.days))


if __name__ == "__main__":
    main()
