"""Queries of the supervision ladder (预警 → 催办 → 督办 → 通报) and the backlog (挂账): each
case's step, the counts per unit now, a month's public notice and the parked cases.

Per period, the ladder's and the backlog's counters (``urges``, ``supervised_street``,
``supervised_district``, ``noticed``, ``parked``, ``unparked``) are columns of
``queries.statistics`` like every other counter. Every answer carries its freshness.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import psycopg

from projections.errors import ProjectionError
from projections.reading import Answer, answer

__all__ = [
    "LADDER_STEP_SQL",
    "Unit",
    "backlog",
    "case_ladder",
    "ladder_now",
    "notice",
    "unit_column",
]

Unit = Literal["district", "street", "village", "grid", "department"]
_UNIT_COLUMN = {
    "district": "district_code",
    "street": "street_code",
    "village": "village_code",
    "grid": "grid_id",
    "department": "department_code",
}
_WARNED = (
    "EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = c.case_id AND d.warned_at IS NOT NULL "
    "AND d.done_at IS NULL AND NOT d.cancelled)"
)
_OVERDUE = (
    "EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = c.case_id AND d.breached_at IS NOT NULL "
    "AND d.done_at IS NULL AND NOT d.cancelled)"
)
LADDER_STEP_SQL = (
    "CASE WHEN c.notices > 0 THEN 'noticed' "
    "WHEN c.supervision_level IS NOT NULL THEN 'supervised_' || c.supervision_level "
    "WHEN c.urges > 0 THEN 'urged' "
    f"WHEN {_OVERDUE} THEN 'overdue' "
    f"WHEN {_WARNED} THEN 'warned' ELSE 'none' END"
)
"""The highest step a case (``cases c``) reached on the ladder: noticed, supervised_district,
supervised_street, urged, overdue, warned or none."""
_OPEN = "c.status NOT IN ('rejected', 'closed')"


def unit_column(level: str) -> str:
    """The ``cases`` column naming a case's unit of ``level``.

    Raises:
        ProjectionError: no such level.
    """
    if level not in _UNIT_COLUMN:
        raise ProjectionError(f"level {level!r} is not one of {', '.join(_UNIT_COLUMN)}")
    return _UNIT_COLUMN[level]


def _period(period: str) -> str:
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", period):
        raise ProjectionError(f"period {period!r} is not a month such as 2025-06")
    return period


def case_ladder(
    conn: psycopg.Connection[Any],
    projection: str,
    level: Unit | None = None,
    code: str | None = None,
) -> Answer:
    """The open cases on the ladder (warned or further), highest step first: their step,
    urges, supervision level and deadline, notices; within one unit when ``level`` and
    ``code`` are given."""
    where, params = f"{_OPEN} AND step <> 'none'", {}
    if level is not None:
        where += f" AND c.{unit_column(level)} = %(code)s"
        params = {"code": code}
    query = (
        "SELECT case_id, status, department_code, district_code, street_code, urges, "
        "last_urged_at, supervision_level, supervised_at, supervision_due, notices, "
        f"last_notice_period, step FROM (SELECT c.*, {LADDER_STEP_SQL} AS step FROM cases c) c "
        f"WHERE {where} ORDER BY array_position(ARRAY['noticed', 'supervised_district', "
        "'supervised_street', 'urged', 'overdue', 'warned'], step), case_id"
    )
    return answer(conn, projection, ["cases", "deadlines"], query, params)


def ladder_now(conn: psycopg.Connection[Any], projection: str, level: Unit) -> Answer:
    """Per unit of ``level``, the open cases now: overdue, urged, supervised by the street and
    by the district, listed in a notice, and parked (挂账)."""
    column = unit_column(level)
    query = (
        f"SELECT c.{column} AS code, "
        f"count(*) FILTER (WHERE {_OVERDUE})::bigint AS overdue, "
        "count(*) FILTER (WHERE c.urges > 0)::bigint AS urged, "
        "count(*) FILTER (WHERE c.supervision_level = 'street')::bigint AS supervised_street, "
        "count(*) FILTER (WHERE c.supervision_level = 'district')::bigint "
        "AS supervised_district, "
        "count(*) FILTER (WHERE c.notices > 0)::bigint AS noticed, "
        "count(*) FILTER (WHERE c.status = 'parked')::bigint AS parked "
        f"FROM cases c WHERE {_OPEN} AND c.{column} IS NOT NULL GROUP BY 1 "
        "HAVING count(*) FILTER (WHERE c.urges > 0 OR c.supervision_level IS NOT NULL "
        f"OR c.notices > 0 OR c.status = 'parked' OR {_OVERDUE}) > 0 ORDER BY 1"
    )
    return answer(conn, projection, ["cases", "deadlines"], query)


def notice(conn: psycopg.Connection[Any], projection: str, period: str, level: Unit) -> Answer:
    """The public notice (通报) of month ``period``: per unit of ``level``, the cases listed
    as overdue at the month's close and, of them, those under street and district
    supervision; most cases first."""
    column = unit_column(level)
    query = (
        f"SELECT {column} AS code, count(*)::bigint AS overdue, "
        "count(*) FILTER (WHERE supervision_level = 'street')::bigint AS supervised_street, "
        "count(*) FILTER (WHERE supervision_level = 'district')::bigint AS supervised_district, "
        "sum(urges)::bigint AS urges "
        f"FROM notices WHERE period = %(period)s AND {column} IS NOT NULL GROUP BY 1 "
        "ORDER BY 2 DESC, 1"
    )
    return answer(conn, projection, ["notices"], query, {"period": _period(period)})


def backlog(
    conn: psycopg.Connection[Any],
    projection: str,
    level: Unit | None = None,
    code: str | None = None,
) -> Answer:
    """The cases on the backlog (挂账) now, the earliest review first: why, since when, when to
    review; within one unit when ``level`` and ``code`` are given."""
    where, params = "c.status = 'parked'", {}
    if level is not None:
        where += f" AND c.{unit_column(level)} = %(code)s"
        params = {"code": code}
    query = (
        "SELECT c.case_id, c.category_code, c.department_code, c.district_code, c.street_code, "
        "c.grid_id, c.parked_since, c.review_date, c.park_reason, c.parks "
        f"FROM cases c WHERE {where} ORDER BY c.review_date, c.case_id"
    )
    return answer(conn, projection, ["cases"], query, params)
