"""The overview (总览): KPI tiles with 同比 and 环比, the funnel 上报 → 结案, daily trends, and
the same KPIs for each unit one level down (the drill-down table)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import psycopg

from domain.stats_moves import METRICS
from projections.panels.kpis import FLOWS, FUNNEL, KPIS, OVERVIEW_TILES, Kpi
from projections.panels.periods import Period
from projections.panels.scope import Scope, Unit
from projections.panels.sources import STATS_TABLES, period_source, rows_of
from projections.reading import Answer, answer

__all__ = ["children", "counters", "funnel", "now_counts", "tiles", "trend"]

NOW_COLUMNS = ("open", "overdue")


def _sums(metrics: Sequence[str]) -> str:
    return ", ".join(f"sum(s.{m})::bigint AS {m}" for m in metrics)


def counters(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    periods: Sequence[Period],
    children: bool = False,
) -> Answer:
    """Summed counters of ``unit`` (or each of its child units) in each of ``periods``: one
    row per (code, period key); ``code`` is null for the unit itself."""
    src = period_source(*periods)
    where, params = rows_of(unit, scope, children)
    code = "s.code" if children else "NULL::text"
    query = (
        f"SELECT {code} AS code, s.{src.column} AS period, {_sums(METRICS)} "
        f"FROM {src.table} s WHERE {where} AND s.{src.column} = ANY(%(keys)s) GROUP BY 1, 2"
    )
    return answer(conn, projection, STATS_TABLES, query, {**params, "keys": src.keys})


def now_counts(
    conn: psycopg.Connection[Any], projection: str, scope: Scope, unit: Unit, children: bool = False
) -> Answer:
    """Open and overdue cases now, of ``unit`` or of each child unit (``unit_now``)."""
    where, params = rows_of(unit, scope, children)
    code = "s.code" if children else "NULL::text"
    query = f"SELECT {code} AS code, {_sums(NOW_COLUMNS)} FROM unit_now s WHERE {where} GROUP BY 1"
    return answer(conn, projection, ("unit_now",), query, params)


def _change(now: float | None, then: float | None, rate: bool) -> float | None:
    """A rate's change in points; a count's change relative to ``then``."""
    if now is None or then is None:
        return None
    if rate:
        return now - then
    return (now - then) / then if then else None


def _earliest(*answers: Answer) -> Any:
    times = [a.complete_to for a in answers if a.complete_to is not None]
    return min(times) if times else None


def tiles(
    conn: psycopg.Connection[Any], projection: str, scope: Scope, unit: Unit, period: Period
) -> Answer:
    """One row per overview tile: its value in ``period``, in the period before (环比) and a
    year before (同比), and the changes; 在办 and 超期 are now, without comparisons."""
    before, year_ago = period.previous(), period.year_before()
    stats = counters(conn, projection, scope, unit, (period, before, year_ago))
    by_period = {r["period"]: r for r in stats.rows}
    key = period_source(period).keys[0]
    keys = {
        "value": key,
        "mom": period_source(before).keys[0],
        "yoy": period_source(year_ago).keys[0],
    }
    now = now_counts(conn, projection, scope, unit)
    now_row = now.rows[0] if now.rows else {c: 0 for c in NOW_COLUMNS}
    rows = []
    for name in OVERVIEW_TILES:
        k = KPIS[name]
        if k.kind == "now":
            rows.append(_tile(k, float(now_row.get(k.numerator) or 0), None, None, None, None))
            continue
        cur = by_period.get(keys["value"])
        value = k.of(cur)
        mom = k.of(by_period.get(keys["mom"]))
        yoy = k.of(by_period.get(keys["yoy"]))
        sample = (cur or {}).get(k.denominator or k.numerator) or 0
        rows.append(_tile(k, value, mom, yoy, int(sample), k.is_rate))
    return Answer(rows, _earliest(stats, now), stats.schema)


def _tile(
    k: Kpi,
    value: float | None,
    mom: float | None,
    yoy: float | None,
    sample: int | None,
    rate: bool | None,
) -> dict[str, Any]:
    return {
        "kpi": k.name,
        "label": k.label,
        "kind": k.kind,
        "unit": k.unit,
        "value": value,
        "previous": mom,
        "year_before": yoy,
        "mom_change": _change(value, mom, bool(rate)),
        "yoy_change": _change(value, yoy, bool(rate)),
        "sample": sample,
        "lower_is_better": k.lower_is_better,
    }


def funnel(
    conn: psycopg.Connection[Any], projection: str, scope: Scope, unit: Unit, period: Period
) -> Answer:
    """The closed loop's stages for the cases reported in ``period``: 上报, then how many of
    them got through 立案 → 派遣 → 处置 → 核查 → 结案 by now (``kpis.FUNNEL``)."""
    stats = counters(conn, projection, scope, unit, (period,))
    sums = stats.rows[0] if stats.rows else {}
    rows = [
        {"kpi": n, "label": label, "count": int(sums.get(KPIS[n].numerator) or 0)}
        for n, label in FUNNEL
    ]
    return Answer(rows, stats.complete_to, stats.schema)


def trend(
    conn: psycopg.Connection[Any], projection: str, scope: Scope, unit: Unit, period: Period
) -> Answer:
    """Each day of ``period``: the closed loop's events of the day (``kpis.FLOWS``; a quarter
    is ~90 rows)."""
    where, params = rows_of(unit, scope)
    metrics = [KPIS[n].numerator for n in FLOWS]
    query = (
        f"SELECT s.day, {_sums(metrics)} FROM stats_daily s WHERE {where} "
        "AND s.day >= %(start)s AND s.day < %(end)s GROUP BY 1 ORDER BY 1"
    )
    found = answer(
        conn, projection, STATS_TABLES, query, {**params, "start": period.start, "end": period.end}
    )
    by_day = {r["day"]: r for r in found.rows}
    rows = []
    day = period.start
    while day < period.end:  # every day, the quiet ones as zeros
        got = by_day.get(day, {})
        rows.append({"day": day, **{m: int(got.get(m) or 0) for m in metrics}})
        day = date.fromordinal(day.toordinal() + 1)
    return Answer(rows, found.complete_to, found.schema)


def children(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    period: Period,
    kpis: Sequence[str] = OVERVIEW_TILES,
) -> Answer:
    """Each unit one level below ``unit`` (districts under the city, … grids under a village)
    with its name and its ``kpis`` in ``period``, in code order."""
    stats = counters(conn, projection, scope, unit, (period,), children=True)
    now = now_counts(conn, projection, scope, unit, children=True)
    where, params = rows_of(unit, scope, children=True)
    names = answer(
        conn,
        projection,
        (),
        f"SELECT s.code, s.name FROM units s WHERE {where} ORDER BY s.code",
        params,
    )
    sums = {r["code"]: r for r in stats.rows}
    nows = {r["code"]: r for r in now.rows}
    rows = []
    for unit_row in names.rows:
        code = unit_row["code"]
        got = {**sums.get(code, {}), **nows.get(code, {})}
        values = {n: KPIS[n].of(got or None) for n in kpis}
        rows.append({"code": code, "name": unit_row["name"], **values})
    return Answer(rows, _earliest(stats, now), stats.schema)
