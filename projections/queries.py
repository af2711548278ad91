"""The analysts' read-model queries: statistics, rankings, the assessment, hot words, the
case pipeline, the overdue lists, the supervision ladder and the backlog (``supervision``), the
hand-offs flagged and pending (``handoffs``). Every answer carries its freshness (``reading``).

Each function reads the projection's active schema (``fq_meta.active_projection``), so a
promoted replay is served from the next call on. Periods are Asia/Shanghai local dates,
``start`` inclusive and ``end`` exclusive; statistics for a past period use the grid
boundaries that were in force when each case was reported or each visit made.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

import psycopg

from domain.stats_moves import METRICS
from projections.errors import ProjectionError
from projections.handling_hist import BUCKET_SQL, EDGES, RESOLUTION_UNITS, WIDTHS
from projections.handoffs import flagged_handoffs, handoffs_now
from projections.now_fold import STATUS_COLUMNS
from projections.panels.lateness import BUCKETS, bucket_sql
from projections.periods import Span, cover
from projections.reading import Answer, answer
from projections.supervision import backlog, case_ladder, ladder_now, notice

__all__ = [
    "backlog",
    "case_ladder",
    "case_pipeline",
    "case_trace",
    "flagged_handoffs",
    "handoffs_now",
    "hot_words",
    "ladder_now",
    "notice",
    "overdue",
    "overdue_distribution",
    "ranking",
    "statistics",
    "worker_assessment",
]

Level = Literal["district", "street", "village", "grid", "department", "worker"]
Period = Literal["day", "month", "quarter"]
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
_LOWER_IS_BETTER = {"mean_handling_hours", "rework_rate", "hand_offs", "handoff_requests"}


def _rates(*names: str) -> str:
    return ", ".join(
        f"{_RATES[n][0]} AS {n}" for n in names or _RATES
    )  # working hours: (0,4], (4,8], (8,16], (16,40], > 40


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
    """Open and finished cases by status, overall or per department or district (unit None:
    the cases with no department now, or no district), from ``unit_now``."""
    statuses = ", ".join(f"('{s}', {column})" for s, column in STATUS_COLUMNS.items())
    unpivot = f"CROSS JOIN LATERAL (VALUES {statuses}) s(status, n)"
    # every case has a grid: the grids' counts are all the cases
    everything = (
        f"SELECT s.status, sum(s.n) AS n FROM unit_now {unpivot} WHERE level = 'grid' GROUP BY 1"
    )
    if by is None:
        query = (
            f"SELECT NULL::text AS unit, status, n::bigint AS cases FROM ({everything}) a "
            "WHERE n > 0 ORDER BY status"
        )
        return answer(conn, projection, ["unit_now"], query)
    units = f"SELECT code, s.status, s.n FROM unit_now {unpivot} WHERE level = %(level)s"
    query = (
        f"WITH u AS ({units}), a AS ({everything}), "
        "rest AS (SELECT a.status, a.n - coalesce(sum(u.n), 0) AS n FROM a "
        "LEFT JOIN u ON u.status = a.status GROUP BY a.status, a.n) "
        "SELECT code AS unit, status, n::bigint AS cases FROM u WHERE n > 0 UNION ALL "
        "SELECT NULL, status, n::bigint FROM rest WHERE n > 0 ORDER BY 1 NULLS FIRST, 2"
    )
    return answer(conn, projection, ["unit_now"], query, {"level": by})


def case_trace(conn: psycopg.Connection[Any], projection: str, case_id: str) -> Answer:
    """One case's full trace (全程留痕): every event, who, when, from which system, and where
    its record is in its partition of the case log (``log_offset``)."""
    return answer(
        conn,
        projection,
        ["case_timeline"],
        "SELECT sequence, event_type, event_time, recorded_time, actor_id, actor_role, "
        "source_system, summary, log_offset FROM case_timeline WHERE case_id = %s "
        "ORDER BY sequence",
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
    """How late finished deadlines were, in working-hour buckets in their numeric order
    (``projections.panels.lateness``), then how many are still open past due."""
    labels = " ".join(f"WHEN {i} THEN '{label}'" for i, label in enumerate(BUCKETS))
    query = (
        "SELECT bucket, deadlines FROM ("
        f"SELECT i, CASE i {labels} END AS bucket, count(*) AS deadlines FROM "
        f"(SELECT {bucket_sql('lateness_hours')} AS i FROM deadlines "
        "WHERE done_at IS NOT NULL AND lateness_hours > 0 AND NOT cancelled) d GROUP BY i "
        f"UNION ALL SELECT {len(BUCKETS)}, 'open past due', count(*) FROM deadlines "
        "WHERE breached_at IS NOT NULL AND done_at IS NULL AND NOT cancelled) x ORDER BY i"
    )
    return answer(conn, projection, ["deadlines"], query)


# --- statistics -----------------------------------------------------------------------------
def _counters(
    spans: Sequence[Span], metrics: Sequence[str], params: dict[str, Any], unit: str | None
) -> str:
    """A query of (code, period, the ``metrics`` summed) over ``spans``: whole months and
    quarters read from ``stats_period``, leftover days summed from ``stats_daily``; one row
    per code and span label."""
    only = " AND code = %(unit)s" if unit else ""
    sums = ", ".join(f"sum({m})::bigint AS {m}" for m in metrics)
    parts = []
    for i, span in enumerate(spans):
        params[f"label{i}"] = span.label
        if span.kind == "days":
            params[f"start{i}"], params[f"end{i}"] = span.start, span.end
            parts.append(
                f"SELECT code, %(label{i})s::text AS period, {sums} FROM stats_daily "
                f"WHERE level = %(level)s AND day >= %(start{i})s AND day < %(end{i})s{only} "
                "GROUP BY code"
            )
        else:
            params[f"period{i}"] = span.period
            parts.append(
                f"SELECT code, %(label{i})s::text AS period, {', '.join(metrics)} "
                f"FROM stats_period WHERE level = %(level)s AND period = %(period{i})s{only}"
            )
    if len({span.label for span in spans}) == len(spans):
        return " UNION ALL ".join(parts)
    return f"SELECT code, period, {sums} FROM ({' UNION ALL '.join(parts)}) x GROUP BY 1, 2"


def _bucketed(column: str, label: str, where: str) -> str:
    """Resolutions counted per (code, period, handling-time bucket), as ``handling_hist``
    counts them."""
    return (
        f"SELECT {column} AS code, {label} AS period, "
        f"{BUCKET_SQL.format('handling_hours')} AS bucket, "
        f"count(*) AS n FROM resolutions WHERE {column} IS NOT NULL AND {where} GROUP BY 1, 2, 3"
    )


def _histogram(level: str, spans: Sequence[Span], params: dict[str, Any], unit: str | None) -> str:
    """A query of (code, period, bucket, n) over ``spans``: whole months and quarters from
    ``handling_hist``, leftover days from ``resolutions``, bucketed alike."""
    column = RESOLUTION_UNITS[level]
    params["edges"] = list(EDGES)
    parts = []
    for i, span in enumerate(spans):
        if span.kind == "days":
            where = f"day >= %(start{i})s AND day < %(end{i})s"
            where += f" AND {column} = %(unit)s" if unit else ""
            parts.append(_bucketed(column, f"%(label{i})s::text", where))
        else:
            only = " AND code = %(unit)s" if unit else ""
            parts.append(
                f"SELECT code, %(label{i})s::text AS period, bucket, resolutions AS n "
                f"FROM handling_hist WHERE level = %(level)s AND period = %(period{i})s{only}"
            )
    if len({span.label for span in spans}) == len(spans):
        return " UNION ALL ".join(parts)
    return (
        f"SELECT code, period, bucket, sum(n) AS n FROM ({' UNION ALL '.join(parts)}) x "
        "GROUP BY 1, 2, 3"
    )


def _percentiles(histogram: str, params: dict[str, Any]) -> str:
    """Median and p90 per (code, period) read from a histogram query, as
    ``handling_hist.percentile`` reads them: the values at ranks q·(n−1) and the next,
    each placed evenly inside its bucket, interpolated."""
    params["lo"], params["width"] = list(EDGES), list(WIDTHS)

    def at(rank: str) -> str:
        return (
            f"max(CASE WHEN below <= {rank} AND {rank} < below + n "
            f"THEN lo + width * ({rank} - below + 0.5) / n END)"
        )

    picks = []
    for name, q in (("median", 0.5), ("p90", 0.9)):
        rank = f"floor({q} * (total - 1))"
        picks.append(
            f"{at(rank)} AS {name}_low, {at(f'least({rank} + 1, total - 1)')} AS {name}_high, "
            f"max({q} * (total - 1) - {rank}) AS {name}_frac"
        )
    return (
        f"WITH h AS ({histogram}), c AS (SELECT code, period, bucket, n::float8 AS n, "
        "(sum(n) OVER (PARTITION BY code, period ORDER BY bucket) - n)::float8 AS below, "
        "(sum(n) OVER (PARTITION BY code, period))::float8 AS total FROM h), "
        "e AS (SELECT c.*, b.lo, b.width FROM c JOIN unnest(%(lo)s::float8[], "
        "%(width)s::float8[]) WITH ORDINALITY b(lo, width, i) ON b.i = c.bucket + 1), "
        f"r AS (SELECT code, period, {', '.join(picks)} FROM e GROUP BY code, period) "
        "SELECT code, period, "
        "median_low + median_frac * (median_high - median_low) AS median_handling_hours, "
        "p90_low + p90_frac * (p90_high - p90_low) AS p90_handling_hours FROM r"
    )


def _stats_query(
    level: str, period: str, start: date, end: date, unit: str | None
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"level": level, "start": start, "end": end, "unit": unit}
    day_label = "to_char(day, 'YYYY-MM-DD')"
    if period == "day":  # the daily facts as they are
        only = " AND code = %(unit)s" if unit else ""
        counters = (
            f"SELECT code, {day_label} AS period, "
            + ", ".join(f"sum({m})::bigint AS {m}" for m in METRICS)
            + " FROM stats_daily WHERE level = %(level)s AND day >= %(start)s "
            f"AND day < %(end)s{only} GROUP BY 1, 2"
        )
        histogram = ""
        if level in RESOLUTION_UNITS:
            column = RESOLUTION_UNITS[level]
            where = "day >= %(start)s AND day < %(end)s"
            where += f" AND {column} = %(unit)s" if unit else ""
            params["edges"] = list(EDGES)
            histogram = _bucketed(column, day_label, where)
    else:
        spans = cover(start, end, "quarter" if period == "quarter" else "month")
        counters = _counters(spans, METRICS, params, unit)
        histogram = _histogram(level, spans, params, unit) if level in RESOLUTION_UNITS else ""
    percentiles, join = "", ""
    if histogram:
        percentiles = ", p.median_handling_hours, p.p90_handling_hours"
        join = (
            f" LEFT JOIN ({_percentiles(histogram, params)}) p "
            "ON p.code = t.code AND p.period = t.period"
        )
    query = (
        f"SELECT t.*, {_rates()}{percentiles} FROM ({counters}) t{join} ORDER BY t.period, t.code"
    )
    return query, params


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
    ``level`` and per day, month or quarter; one unit when ``unit`` is given.

    Whole months and quarters are read from the rollups (``stats_period``, ``handling_hist``),
    the days of a period the range covers only in part from the daily facts. The median and
    p90 come from handling-time buckets: within one bucket width of the exact percentile
    (``projections.handling_hist``: under 0.25 h below 8 h, 1 h below 80 h)."""
    _check_level(level, ("district", "street", "village", "grid", "department", "worker"))
    if period not in ("day", "month", "quarter"):
        raise ProjectionError(f"period {period!r} is not one of day, month, quarter")
    _check_period(start, end)
    query, params = _stats_query(level, period, start, end, unit)
    tables = ["stats_daily", "stats_period", "resolutions", "handling_hist"]
    return answer(conn, projection, tables, query, params)


_RANKABLE = {
    **_RATES,
    "hand_offs": ("hand_offs::float", "dispatched"),
    "handoff_requests": ("handoff_requests::float", "dispatched"),
    "reported": ("reported::float", "reported"),
    "visits": ("visits::float", "visits"),
}


def _period_totals(
    level: str, start: date, end: date, metrics: Sequence[str], params: dict[str, Any]
) -> str:
    """(code, the ``metrics`` summed over [start, end)): whole quarters and months from
    ``stats_period``, the other days from ``stats_daily``."""
    spans = cover(start, end, "quarter")
    counters = _counters(spans, metrics, params, None)
    if len(spans) == 1:  # already a row per code (and its period, which is not read)
        return counters
    sums = ", ".join(f"sum({m})::bigint AS {m}" for m in metrics)
    return f"SELECT code, {sums} FROM ({counters}) y GROUP BY code"


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
    grid with two cases cannot top the table. Whole months and quarters of the period are
    read from ``stats_period``, other days from ``stats_daily``."""
    if metric not in _RANKABLE:
        raise ProjectionError(
            f"metric {metric!r} cannot be ranked; choose one of {', '.join(_RANKABLE)}"
        )
    _check_level(level, ("district", "street", "village", "grid", "department", "worker"))
    _check_period(start, end)
    expr, sample = _RANKABLE[metric]
    order = "ASC" if metric in _LOWER_IS_BETTER else "DESC"
    params: dict[str, Any] = {"level": level, "min": min_count}
    totals = _period_totals(level, start, end, METRICS, params)
    query = (
        f"WITH t AS ({totals}), "
        f"v AS (SELECT code, {expr} AS value, {sample}::bigint AS sample FROM t) "
        "SELECT code, value, sample, sample >= %(min)s AND value IS NOT NULL AS ranked, "
        f"CASE WHEN sample >= %(min)s AND value IS NOT NULL THEN rank() OVER "
        f"(PARTITION BY sample >= %(min)s AND value IS NOT NULL ORDER BY value {order}) END AS rank "
        f"FROM v ORDER BY ranked DESC, rank, value {order} NULLS LAST, code"
    )
    return answer(conn, projection, ["stats_daily", "stats_period"], query, params)


_ASSESSED = ("visits", "households", "discovered", "verifications", "verifications_on_time")


def worker_assessment(
    conn: psycopg.Connection[Any], projection: str, start: date, end: date, min_visits: int = 10
) -> Answer:
    """The grid workers' assessment (考核) over a period: visits, households visited,
    discoveries and discovery rate, verifications and those on time; ranked by discovery
    rate among workers with at least ``min_visits`` visits. Whole months and quarters of the
    period are read from ``stats_period``, other days from ``stats_daily``."""
    _check_period(start, end)
    params: dict[str, Any] = {"level": "worker", "min": min_visits}
    totals = _period_totals("worker", start, end, _ASSESSED, params)
    query = (
        f"WITH t AS (SELECT code AS worker_id, {', '.join(_ASSESSED)} FROM ({totals}) w) "
        "SELECT *, " + _rates("discovery_rate", "discoveries_per_100_households") + ", "
        "CASE WHEN visits >= %(min)s THEN rank() OVER (PARTITION BY visits >= %(min)s "
        f"ORDER BY {_RATES['discovery_rate'][0]} DESC NULLS LAST) END AS rank "
        "FROM t ORDER BY rank NULLS LAST, worker_id"
    )
    return answer(conn, projection, ["stats_daily", "stats_period"], query, params)


def hot_words(
    conn: psycopg.Connection[Any],
    projection: str,
    quarter: str,
    district: str | None = None,
    k: int = 20,
    lexicon_version: str | None = None,
) -> Answer:
    """The top ``k`` words of the quarter's report texts (热词排行), city-wide (from the
    projector's sums over the districts, ``city_hot_words``) or for one district; ties broken
    by the word, so the same log and lexicon give the same list."""
    if k < 1:
        raise ProjectionError(f"k must be at least 1, got {k}")
    city = district is None
    table, where = ("city_hot_words", "TRUE") if city else ("hot_words", "district_code = %(d)s")
    query = (
        "SELECT word, sum(count)::bigint AS count, array_agg(DISTINCT lexicon_version) AS lexicons "
        f"FROM {table} WHERE quarter = %(q)s AND {where} "
        "AND (%(v)s::text IS NULL OR lexicon_version = %(v)s) "
        'GROUP BY word ORDER BY count DESC, word COLLATE "C" LIMIT %(k)s'
    )
    params = {"q": quarter, "d": district, "v": lexicon_version, "k": k}
    return answer(conn, projection, [table], query, params)
