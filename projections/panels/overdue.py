"""超期: the deadlines a unit is late on now, those about to expire, and how late finished ones
were, in working-hour buckets per child unit or per department.

A deadline counts for the place its case was reported in (the case's chain) or for the
department it runs against. Open deadlines' lateness is worked out on the calendar each names
(``late_working_hours``); finished ones carry theirs (``lateness_hours``, fixed when met).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import psycopg

from domain.calendar import WorkCalendar
from domain.case_state import OPEN_STATUSES
from projections.panels import terms
from projections.panels.lateness import BUCKETS, bucket_sql, late_working_hours
from projections.panels.paging import PAGE, page_params
from projections.panels.periods import Period
from projections.panels.scope import CHAIN_COLUMN, FEW_CASES, Scope, Unit, child_level
from projections.panels.sources import cases_of
from projections.reading import Answer, answer

__all__ = ["GROUPINGS", "GroupingError", "distribution", "expiring", "overdue"]

TABLES = ("cases", "deadlines")
Grouping = Literal["children", "department"]
GROUPINGS: tuple[Grouping, ...] = ("children", "department")
_OPEN = sorted(str(s) for s in OPEN_STATUSES)
_RUNNING = "d.done_at IS NULL AND NOT d.cancelled"


class GroupingError(ValueError):
    """A distribution grouped by units the unit does not have (a grid has no child units)."""


def _where(scope: Scope, unit: Unit) -> tuple[str, dict[str, Any]]:
    """SQL keeping the deadlines (``d``, with their case ``c``) of ``unit`` within ``scope``."""
    return cases_of(scope, unit, "d.department_code")


def _running(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    extra: str,
    condition: str,
    params: dict[str, Any],
    limit: int,
    offset: int,
) -> Answer:
    """The open cases' running deadlines of ``unit`` that meet ``condition``, the one due first
    first, with ``extra`` columns, their stage, escalation and step on the supervision ladder
    (``ladder_zh``: urges, supervision, notices) in Chinese, and ``total``."""
    where, unit_params = _where(scope, unit)
    # The running deadlines that qualify, narrow (id and due time, from the partial index of
    # those running), counted once; only the page's rows are read whole, with their cases.
    query = (
        "WITH r AS MATERIALIZED (SELECT d.deadline_id, d.due_time FROM deadlines d "
        f"JOIN cases c USING (case_id) WHERE {_RUNNING} AND c.status = ANY(%(open)s) "
        f"AND {condition} AND {where}), "
        "page AS (SELECT deadline_id FROM r ORDER BY due_time, deadline_id "
        f"{PAGE}) "
        "SELECT (SELECT count(*) FROM r) AS total, d.deadline_id, d.case_id, c.title, "
        "d.department_code, coalesce(u.name, d.department_code) AS department_name, d.stage, "
        "d.due_time, d.working_hours, d.calendar_version, c.escalation_level, c.status, "
        f"d.urges, c.supervision_level, c.supervision_due, c.notices, {extra} "
        "FROM page JOIN deadlines d USING (deadline_id) JOIN cases c USING (case_id) "
        "LEFT JOIN units u ON u.level = 'department' AND u.code = d.department_code "
        "ORDER BY d.due_time, d.deadline_id"
    )
    params = {**params, **unit_params, "open": _OPEN, **page_params(limit, offset)}
    found = answer(conn, projection, TABLES, query, params)
    for row in found.rows:
        row["stage_zh"] = terms.STAGE.get(row["stage"], row["stage"])
        row["escalation_zh"] = terms.ESCALATION.get(
            row["escalation_level"], row["escalation_level"]
        )
        row["ladder_zh"] = terms.ladder_step(row["urges"], row["supervision_level"], row["notices"])
    return found


def overdue(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    now: datetime,
    calendar: WorkCalendar,
    limit: int = 50,
    offset: int = 0,
) -> Answer:
    """The open cases' deadlines of ``unit`` breached and neither met nor cancelled, the one
    due earliest (the latest) first; each row with ``late_hours``, the working hours from its
    due time to ``now`` on ``calendar`` (``None`` when the calendar does not hold the version
    the deadline names), and ``total``.

    Raises:
        UnitError: ``unit`` is a worker.
    """
    found = _running(
        conn,
        projection,
        scope,
        unit,
        "d.breached_at",
        "d.breached_at IS NOT NULL",
        {},
        limit,
        offset,
    )
    for row in found.rows:
        row["late_hours"] = late_working_hours(
            calendar, row["calendar_version"], row["due_time"], now
        )
    return found


def expiring(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    now: datetime,
    hours: float,
    limit: int = 50,
    offset: int = 0,
) -> Answer:
    """The running deadlines of ``unit`` (not breached, paused, met or cancelled) due from
    ``now`` to ``hours`` of wall-clock time later, soonest first, each with ``hours_left``.

    Raises:
        UnitError: ``unit`` is a worker.
    """
    found = _running(
        conn,
        projection,
        scope,
        unit,
        "extract(epoch FROM d.due_time - %(now)s) / 3600 AS hours_left",
        "d.breached_at IS NULL AND NOT d.paused AND d.due_time >= %(now)s "
        "AND d.due_time < %(until)s",
        {"now": now, "until": now + timedelta(hours=hours)},
        limit,
        offset,
    )
    for row in found.rows:
        row["hours_left"] = float(row["hours_left"])
    return found


def _bucket_sql() -> str:
    return bucket_sql("d.lateness_hours")


def _bucket_counts() -> str:
    return ", ".join(
        f"count(*) FILTER (WHERE g.late_in_period AND g.bucket = {i}) AS b{i}"
        for i in range(len(BUCKETS))
    )


def distribution(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    period: Period,
    by: Grouping,
) -> Answer:
    """How late the deadlines of ``unit`` met late in ``period`` were, per child unit (``by``
    children) or per department: one row per group with ``counts`` in ``BUCKETS`` order,
    ``late`` (their sum) and ``open_overdue`` (breached, still running now), most late first.

    Raises:
        GroupingError: ``by`` children of a unit without child units.
        UnitError: ``unit`` is a worker.
    """
    where, params = _where(scope, unit)
    if by == "children":
        level = child_level(unit.level)
        if level is None:
            raise GroupingError(f"{unit.key} has no child units: group by department")
        group, unit_level = f"c.{CHAIN_COLUMN[level]}", level
    else:
        group, unit_level = "d.department_code", "department"
    # A deadline carries its case's district: the city's and a district's late deadlines are
    # counted from the narrow index alone, without their cases.
    group, where = (part.replace("c.district_code", "d.district_code") for part in (group, where))
    cases = "cases"
    if unit.level in FEW_CASES:
        # A street's cases are few: read them first, then the month's late deadlines from
        # the covering index, joined by key (never each late deadline's case in the city).
        cases = "mine"
    late_from = (
        f"deadlines d JOIN {cases} c USING (case_id)" if "c." in group + where else "deadlines d"
    )
    # Two narrow reads, each by its own partial index of ``deadlines``: those met late in
    # the period (by done_at) and those breached and still running; never one scan of both.
    late = (
        f"SELECT {group} AS code, {_bucket_sql()} AS bucket, true AS late_in_period, "
        f"false AS open_over FROM {late_from} "
        "WHERE d.done_at >= %(t0)s AND d.done_at < %(t1)s AND d.lateness_hours > 0 "
        f"AND NOT d.cancelled AND {where}"
    )
    running = (
        f"SELECT {group} AS code, 0 AS bucket, false AS late_in_period, true AS open_over "
        f"FROM deadlines d JOIN {cases} c USING (case_id) WHERE d.breached_at IS NOT NULL "
        f"AND {_RUNNING} AND c.status = ANY(%(open)s) AND {where}"
    )
    mine = (
        "mine AS MATERIALIZED (SELECT c.case_id, c.status, c.district_code, c.street_code, "
        "c.village_code, c.grid_id FROM cases c WHERE "
        f"c.{CHAIN_COLUMN[unit.level]} = %(unit_code)s), "
        if cases == "mine"
        else ""
    )
    query = (
        f"WITH {mine}g AS ({late} UNION ALL {running}) "
        "SELECT g.code, coalesce(min(u.name), g.code) AS name, "
        f"{_bucket_counts()}, "
        "count(*) FILTER (WHERE g.open_over) AS open_overdue FROM g LEFT JOIN units u "
        "ON u.level = %(unit_level)s AND u.code = g.code WHERE g.code IS NOT NULL GROUP BY g.code"
    )
    params.update(
        t0=period.start_at,
        t1=period.end_at,
        open=_OPEN,
        unit_level=unit_level,
    )
    found = answer(conn, projection, TABLES, query, params)
    rows = []
    for row in found.rows:
        counts = [int(row[f"b{i}"]) for i in range(len(BUCKETS))]
        rows.append(
            {
                "code": row["code"],
                "name": row["name"],
                "counts": counts,
                "late": sum(counts),
                "open_overdue": int(row["open_overdue"]),
            }
        )
    rows.sort(key=lambda r: (-r["late"], -r["open_overdue"], r["code"]))
    return Answer(rows, found.complete_to, found.schema)
