"""The read-model queries the dashboard and the gateway use. Every answer carries its
freshness: the event time the read models it comes from are complete up to.

Each function reads the projection's active schema (``fq_meta.active_projection``), so a
promoted replay is served from the next call on. Periods are Asia/Shanghai local dates,
``start`` inclusive and ``end`` exclusive; statistics for a past period use the grid
boundaries that were in force when each case was reported or each visit made.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from projections.errors import ProjectionError, UnknownProjection
from projections.stats_fold import METRICS
from projections.tables import READ_MODELS
from projections.versions import active_schema

__all__ = [
    "Answer",
    "answer",
    "case_pipeline",
    "case_trace",
    "freshness",
    "hot_words",
    "overdue",
    "overdue_distribution",
    "ranking",
    "snapshot",
    "statistics",
    "worker_assessment",
]

Level = Literal["district", "street", "village", "grid", "department", "worker"]
Period = Literal["day", "month", "quarter"]
_RESOLUTION_COLUMN = {
    "district": "district_code",
    "street": "street_code",
    "village": "village_code",
    "grid": "grid_id",
    "department": "department_code",
}
_PERIOD_LABEL = {
    "day": "to_char(day, 'YYYY-MM-DD')",
    "month": "to_char(day, 'YYYY-MM')",
    "quarter": "to_char(day, 'YYYY-\"Q\"Q')",
}
LATENESS_BUCKETS = (0, 4, 8, 16, 40)
# Every rate once: its SQL over summed counters, and the counter that is its sample size.
_RATES = {
    "on_time_rate": ("resolved_on_time::float / NULLIF(resolved, 0)", "resolved"),
    "mean_handling_hours": ("handling_minutes::float / 60 / NULLIF(resolved, 0)", "resolved"),
    "verification_pass_rate": (
        "verifications_passed::float / NULLIF(verifications, 0)",
        "verifications",
    ),
    "rework_rate": ("reworks::float / NULLIF(resolved, 0)", "resolved"),
    "mean_satisfaction": ("satisfaction_sum::float / NULLIF(evaluations, 0)", "evaluations"),
    "discovery_rate": ("discovered::float / NULLIF(visits, 0)", "visits"),
    "discoveries_per_100_households": (
        "discovered::float * 100 / NULLIF(households, 0)",
        "households",
    ),
}
_LOWER_IS_BETTER = {"mean_handling_hours", "rework_rate", "hand_offs"}


def _rates(*names: str) -> str:
    return ", ".join(
        f"{_RATES[n][0]} AS {n}" for n in names or _RATES
    )  # working hours: (0,4], (4,8], (8,16], (16,40], > 40


@dataclass(frozen=True)
class Answer:
    """Rows, and the event time the read models behind them are complete up to."""

    rows: list[dict[str, Any]]
    complete_to: datetime | None
    schema: str


def _open(conn: psycopg.Connection[Any], projection: str) -> str:
    schema = active_schema(conn, projection)
    if schema is None:
        raise UnknownProjection(
            f"projection {projection} has no active schema yet: run `fengqiao project` first"
        )
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    return schema


def freshness(conn: psycopg.Connection[Any], tables: Sequence[str]) -> datetime | None:
    """The event time the tables are complete up to: the earliest latest-event-time among
    the partitions of their sources still being read; when all are caught up, the latest."""
    sources = {s for t in tables for s in READ_MODELS[t].sources}
    if not sources:
        return None
    topics = [f"%fq.{s}.events" for s in sources]
    row = conn.execute(
        "SELECT min(max_event_time) FILTER (WHERE NOT caught_up), max(max_event_time) "
        "FROM checkpoints WHERE topic LIKE ANY(%s) AND max_event_time IS NOT NULL",
        (topics,),
    ).fetchone()
    if row is None:
        return None
    behind, latest = row
    found: datetime | None = behind if behind is not None else latest
    return found


@contextmanager
def snapshot(conn: psycopg.Connection[Any], projection: str) -> Iterator[str]:
    """One REPEATABLE READ transaction on the projection's active schema (its name is
    yielded), so every read inside it, the freshness included, sees the same state.

    Raises:
        UnknownProjection: the projection has no active schema yet.
    """
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.commit()  # a snapshot of our own below; the caller's reads end here
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield _open(conn, projection)


def answer(
    conn: psycopg.Connection[Any],
    projection: str,
    tables: Sequence[str],
    query: str | sql.Composable,
    params: Sequence[Any] | dict[str, Any] = (),
) -> Answer:
    """The rows of ``query`` and the freshness of ``tables``, from one snapshot."""
    with snapshot(conn, projection) as schema:
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(query, params).fetchall()  # type: ignore[arg-type]
        complete_to = freshness(conn, tables)
    return Answer(rows, complete_to, schema)


def _check_period(start: date, end: date) -> None:
    if end <= start:
        raise ProjectionError(f"period end {end} must be after its start {start}")


def _check_level(level: str, allowed: Sequence[str]) -> None:
    if level not in allowed:
        raise ProjectionError(f"level {level!r} is not one of {', '.join(allowed)}")


# --- case pipeline --------------------------------------------------------------------------
def case_pipeline(
    conn: psycopg.Connection[Any],
    projection: str,
    by: Literal["department", "district"] | None = None,
) -> Answer:
    """Open and finished cases by status, overall or per department or district."""
    group = {"department": "department_code", "district": "district_code", None: "NULL"}[by]
    query = (
        f"SELECT {group} AS unit, status, count(*) AS cases FROM cases "
        "GROUP BY 1, 2 ORDER BY 1 NULLS FIRST, 2"
    )
    return answer(conn, projection, ["cases"], query)


def case_trace(conn: psycopg.Connection[Any], projection: str, case_id: str) -> Answer:
    """One case's full trace (全程留痕): every event, who, when, from which system."""
    return answer(
        conn,
        projection,
        ["case_timeline"],
        "SELECT sequence, event_type, event_time, recorded_time, actor_id, actor_role, "
        "source_system, summary FROM case_timeline WHERE case_id = %s ORDER BY sequence",
        (case_id,),
    )


# --- SLA ------------------------------------------------------------------------------------
def overdue(
    conn: psycopg.Connection[Any],
    projection: str,
    by: Literal["department", "district"] = "department",
) -> Answer:
    """Deadlines breached and not yet met, worst first, with the unit they count against."""
    column = "department_code" if by == "department" else "district_code"
    return answer(
        conn,
        projection,
        ["deadlines"],
        f"SELECT {column} AS unit, case_id, stage, due_time, breached_at, working_hours, "
        "policy_id, policy_version, calendar_version FROM deadlines "
        "WHERE breached_at IS NOT NULL AND done_at IS NULL AND NOT cancelled "
        "ORDER BY 1 NULLS LAST, due_time, case_id",
    )


def overdue_distribution(conn: psycopg.Connection[Any], projection: str) -> Answer:
    """How late finished deadlines were, in working-hour buckets, and how many are still open
    past due."""
    edges = LATENESS_BUCKETS
    cases = " ".join(
        f"WHEN lateness_hours <= {hi} THEN '({lo},{hi}]'" for lo, hi in itertools.pairwise(edges)
    )
    query = (
        f"SELECT CASE {cases} ELSE '>{edges[-1]}' END AS bucket, count(*) AS deadlines "
        "FROM deadlines WHERE done_at IS NOT NULL AND lateness_hours > 0 AND NOT cancelled "
        "GROUP BY 1 UNION ALL SELECT 'open past due', count(*) FROM deadlines "
        "WHERE breached_at IS NOT NULL AND done_at IS NULL AND NOT cancelled ORDER BY 1"
    )
    return answer(conn, projection, ["deadlines"], query)


# --- statistics -----------------------------------------------------------------------------
def _stats_query(level: str, period: str, unit: str | None) -> sql.Composable:
    label = _PERIOD_LABEL[period]
    filter_unit = "AND s.code = %(unit)s" if unit else ""
    percentiles = ""
    join = ""
    if level in _RESOLUTION_COLUMN:
        col = _RESOLUTION_COLUMN[level]
        unit_filter = f"AND {col} = %(unit)s" if unit else ""
        percentiles = ", p.median_handling_hours, p.p90_handling_hours"
        join = (
            f"LEFT JOIN (SELECT {col} AS code, {label} AS period, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY handling_hours) AS median_handling_hours, "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY handling_hours) AS p90_handling_hours "
            f"FROM resolutions WHERE day >= %(start)s AND day < %(end)s {unit_filter} "
            "GROUP BY 1, 2) p ON p.code = t.code AND p.period = t.period"
        )
    return sql.SQL(
        "SELECT t.*, "
        + _rates()
        + percentiles
        + " FROM (SELECT s.code, "
        + label
        + " AS period, "
        + ", ".join(f"sum({m})::bigint AS {m}" for m in METRICS)
        + " FROM stats_daily s WHERE s.level = %(level)s AND s.day >= %(start)s "
        "AND s.day < %(end)s "
        + filter_unit
        + " GROUP BY 1, 2) t "
        + join
        + " ORDER BY t.period, t.code"
    )


def statistics(
    conn: psycopg.Connection[Any],
    projection: str,
    level: Level,
    period: Period,
    start: date,
    end: date,
    unit: str | None = None,
) -> Answer:
    """Counters, rates and handling-time mean, median and p90 (working hours) per unit of
    ``level`` and per day, month or quarter; one unit when ``unit`` is given."""
    _check_level(level, ("district", "street", "village", "grid", "department", "worker"))
    if period not in _PERIOD_LABEL:
        raise ProjectionError(f"period {period!r} is not one of day, month, quarter")
    _check_period(start, end)
    params = {"level": level, "start": start, "end": end, "unit": unit}
    return answer(
        conn, projection, ["stats_daily", "resolutions"], _stats_query(level, period, unit), params
    )


_RANKABLE = {
    **_RATES,
    "hand_offs": ("hand_offs::float", "dispatched"),
    "reported": ("reported::float", "reported"),
    "visits": ("visits::float", "visits"),
}


def ranking(
    conn: psycopg.Connection[Any],
    projection: str,
    level: Level,
    metric: str,
    start: date,
    end: date,
    min_count: int = 20,
) -> Answer:
    """Units ranked by ``metric`` over the period. A unit whose sample (the metric's
    denominator) is below ``min_count`` is listed with its value and sample but no rank, so a
    grid with two cases cannot top the table."""
    if metric not in _RANKABLE:
        raise ProjectionError(
            f"metric {metric!r} cannot be ranked; choose one of {', '.join(_RANKABLE)}"
        )
    _check_level(level, ("district", "street", "village", "grid", "department", "worker"))
    _check_period(start, end)
    expr, sample = _RANKABLE[metric]
    order = "ASC" if metric in _LOWER_IS_BETTER else "DESC"
    sums = ", ".join(f"sum({m}) AS {m}" for m in METRICS)
    query = (
        f"WITH t AS (SELECT code, {sums} FROM stats_daily WHERE level = %(level)s "
        "AND day >= %(start)s AND day < %(end)s GROUP BY code), "
        f"v AS (SELECT code, {expr} AS value, {sample}::bigint AS sample FROM t) "
        "SELECT code, value, sample, sample >= %(min)s AND value IS NOT NULL AS ranked, "
        f"CASE WHEN sample >= %(min)s AND value IS NOT NULL THEN rank() OVER "
        f"(PARTITION BY sample >= %(min)s AND value IS NOT NULL ORDER BY value {order}) END AS rank "
        f"FROM v ORDER BY ranked DESC, rank, value {order} NULLS LAST, code"
    )
    params = {"level": level, "start": start, "end": end, "min": min_count}
    return answer(conn, projection, ["stats_daily"], query, params)


def worker_assessment(
    conn: psycopg.Connection[Any], projection: str, start: date, end: date, min_visits: int = 10
) -> Answer:
    """The grid workers' assessment (考核) over a period: visits, households visited,
    discoveries and discovery rate, verifications and those on time; ranked by discovery
    rate among workers with at least ``min_visits`` visits."""
    _check_period(start, end)
    query = (
        "WITH t AS (SELECT code AS worker_id, sum(visits)::bigint AS visits, "
        "sum(households)::bigint AS households, sum(discovered)::bigint AS discovered, "
        "sum(verifications)::bigint AS verifications, "
        "sum(verifications_on_time)::bigint AS verifications_on_time FROM stats_daily "
        "WHERE level = 'worker' AND day >= %(start)s AND day < %(end)s GROUP BY 1) "
        "SELECT *, " + _rates("discovery_rate", "discoveries_per_100_households") + ", "
        "CASE WHEN visits >= %(min)s THEN rank() OVER (PARTITION BY visits >= %(min)s "
        f"ORDER BY {_RATES['discovery_rate'][0]} DESC NULLS LAST) END AS rank "
        "FROM t ORDER BY rank NULLS LAST, worker_id"
    )
    params = {"start": start, "end": end, "min": min_visits}
    return answer(conn, projection, ["stats_daily"], query, params)


def hot_words(
    conn: psycopg.Connection[Any],
    projection: str,
    quarter: str,
    district: str | None = None,
    k: int = 20,
    lexicon_version: str | None = None,
) -> Answer:
    """The top ``k`` words of the quarter's report texts (热词排行), city-wide or for one
    district; ties broken by the word, so the same log and lexicon give the same list."""
    if k < 1:
        raise ProjectionError(f"k must be at least 1, got {k}")
    query = (
        "SELECT word, sum(count)::bigint AS count, array_agg(DISTINCT lexicon_version) AS lexicons "
        "FROM hot_words WHERE quarter = %(q)s "
        "AND (%(d)s::text IS NULL OR district_code = %(d)s) "
        "AND (%(v)s::text IS NULL OR lexicon_version = %(v)s) "
        'GROUP BY word ORDER BY count DESC, word COLLATE "C" LIMIT %(k)s'
    )
    params = {"q": quarter, "d": district, "v": lexicon_version, "k": k}
    return answer(conn, projection, ["hot_words"], query, params)
