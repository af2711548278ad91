"""From a number to its cases (★ every number drills to its cases): the cases behind a KPI of a
unit in a period, as its numerator, its denominator, and the denominator's cases the numerator
left out with why.

Each counter is backed by the facts it was counted from: the events of its types in the case
timeline (by event time, the case's place at report time, the acting worker), or the
resolutions table for resolution counters (by the resolving department). Department units are
matched on the department a resolution names, or otherwise on the case's current department;
the answer says which (``basis``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Literal

import psycopg

from processors.rules.calendar import SHANGHAI
from processors.rules.case_state import OPEN_STATUSES
from projections.panels.kpis import Kpi
from projections.panels.periods import Period
from projections.panels.scope import CHAIN_COLUMN, Scope, Unit
from projections.panels.sources import ScopeRefused
from projections.reading import Answer, answer

__all__ = ["PARTS", "DrillError", "cases_behind"]

Part = Literal["numerator", "denominator", "left_out"]
PARTS: tuple[Part, ...] = ("numerator", "denominator", "left_out")
MAX_ROWS = 500


class DrillError(ValueError):
    """A drill that does not exist: a count has no denominator, visits are not cases."""


@dataclass(frozen=True)
class Facts:
    """Where a counter's cases come from: timeline events of ``events`` (or resolutions),
    with an extra condition."""

    events: tuple[str, ...] = ()
    resolutions: bool = False
    where: str = "TRUE"


_FACTS: dict[str, Facts] = {
    "reported": Facts(("CaseReported",)),
    "discovered": Facts(("CaseReported",), where="c.channel = 'grid_visit'"),
    "accepted": Facts(("CaseAccepted",)),
    "rejected": Facts(("CaseRejected",)),
    "dispatched": Facts(("CaseDispatched",)),
    "resolved": Facts(resolutions=True),
    "resolved_on_time": Facts(resolutions=True, where="f.on_time"),
    "handling_minutes": Facts(resolutions=True),
    "verifications": Facts(("CaseVerified",)),
    "verifications_passed": Facts(("CaseVerified",), where="f.summary LIKE 'verified on site%%'"),
    "reworks": Facts(
        ("CaseVerified", "CaseReopened"),
        where="(f.event_type = 'CaseReopened' OR f.summary LIKE 'failed verification%%')",
    ),
    "closed": Facts(("CaseClosed",)),
    "hand_offs": Facts(("CaseTransferred", "CaseReturned")),
    "escalations": Facts(("CaseEscalated",)),
    "breaches": Facts(("DeadlineBreached",)),
    "evaluations": Facts(("CaseEvaluated",)),
    "satisfaction_sum": Facts(("CaseEvaluated",)),
}
# Why a case of the denominator is not in the numerator.
_LEFT_OUT_WHY = {
    "resolved_on_time": "逾期办结",
    "closed": "尚未结案",
    "verifications_passed": "核查未通过",
    "reworks": "未返工",
}


def _instant(day: Any) -> datetime:
    return datetime.combine(day, time(), SHANGHAI)


def _unit_match(unit: Unit, facts: Facts) -> tuple[str, str]:
    """SQL matching the case (``c``) or fact (``f``) to ``unit``, and the basis it uses."""
    if unit.level == "city":
        return "TRUE", "全市"
    if unit.level in CHAIN_COLUMN:
        return f"c.{CHAIN_COLUMN[unit.level]} = %(code)s", "案件上报时所在地"
    if unit.level == "department":
        if facts.resolutions:
            return "f.department_code = %(code)s", "办结部门"
        return "c.department_code = %(code)s", "案件当前承办部门"
    return "f.actor_id = %(code)s", "经办网格员"


def _facts_sql(k_metric: str, unit: Unit, period: Period) -> tuple[str, dict[str, Any], str]:
    facts = _FACTS[k_metric]
    match, basis = _unit_match(unit, facts)
    if facts.resolutions:
        if unit.level == "worker":
            raise DrillError("resolutions are not counted for workers")
        source = (
            "SELECT f.case_id, f.sequence, c.reported_at AS at FROM resolutions f "
            "JOIN cases c USING (case_id) WHERE f.day >= %(start)s AND f.day < %(end)s"
        )
    else:
        source = (
            "SELECT f.case_id, f.sequence, f.event_time AS at FROM case_timeline f "
            "JOIN cases c USING (case_id) WHERE f.event_type = ANY(%(events)s) "
            "AND f.event_time >= %(t0)s AND f.event_time < %(t1)s"
        )
    query = f"{source} AND {match} AND {facts.where}"
    params = {
        "code": unit.code,
        "start": period.start,
        "end": period.end,
        "t0": _instant(period.start),
        "t1": _instant(period.end),
        "events": list(facts.events),
    }
    return query, params, basis


def _case_columns() -> str:
    return (
        "c.case_id, c.title, c.status, c.category_code, c.district_code, c.street_code, "
        "c.village_code, c.grid_id, c.department_code, c.reported_at, c.closed_at, c.on_time"
    )


def cases_behind(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    period: Period,
    k: Kpi,
    part: Part = "numerator",
    limit: int = 100,
    offset: int = 0,
) -> Answer:
    """The cases behind ``k`` of ``unit`` in ``period``: one row per counted fact (a case
    counted twice, e.g. dispatched twice, is listed twice, so the rows add up to the number),
    ``limit`` rows from ``offset``; the first row's ``total`` is the count of all of them.

    Raises:
        DrillError: the KPI is not backed by cases (visits), or the part does not exist for
            it (a count has no denominator).
        ScopeRefused: the unit lies outside the viewer's scope.
    """
    if scope.department is not None and (unit.level, unit.code) != ("department", scope.department):
        raise ScopeRefused(f"scope department {scope.department} does not cover {unit.key}")
    if k.kind == "now":
        return _now_cases(conn, projection, scope, unit, k, limit, offset)
    if part != "numerator" and k.denominator is None:
        raise DrillError(f"KPI {k.name} is a count: it has a numerator only")
    metric = k.numerator if part == "numerator" else (k.denominator or k.numerator)
    if metric not in _FACTS:
        raise DrillError(f"KPI {k.name} counts visits, not cases: see the visits of the unit")
    query, params, basis = _facts_sql(metric, unit, period)
    reason = "NULL::text"
    if part == "left_out":
        if k.numerator not in _FACTS:
            raise DrillError(f"KPI {k.name} has no case-by-case numerator")
        num_query, num_params, _ = _facts_sql(k.numerator, unit, period)
        num_query = num_query.replace("%(", "%(n_")
        params.update({f"n_{key}": v for key, v in num_params.items()})
        query = f"SELECT * FROM ({query}) d WHERE d.case_id NOT IN (SELECT case_id FROM ({num_query}) n)"
        reason = f"'{_LEFT_OUT_WHY.get(k.numerator, '不计入分子')}'"
    where, scope_params = _scope_on_case(scope)
    full = (
        f"WITH facts AS ({query}) SELECT count(*) OVER () AS total, {reason} AS left_out_why, "
        f"facts.at AS counted_at, {_case_columns()} FROM facts JOIN cases c USING (case_id) "
        f"WHERE {where} ORDER BY facts.at DESC, c.case_id LIMIT %(limit)s OFFSET %(offset)s"
    )
    params.update(scope_params, limit=min(limit, MAX_ROWS), offset=offset)
    found = answer(conn, projection, ("case_timeline", "resolutions"), full, params)
    for row in found.rows:
        row["basis"] = basis
    return found


def _scope_on_case(scope: Scope) -> tuple[str, dict[str, Any]]:
    if scope.place is None:
        return "TRUE", {}
    return f"c.{CHAIN_COLUMN[scope.place.level]} = %(scope_place)s", {
        "scope_place": scope.place.code
    }


def _now_cases(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    k: Kpi,
    limit: int,
    offset: int,
) -> Answer:
    if unit.level == "worker":
        raise DrillError("open and overdue cases are counted per place and department")
    match = "TRUE"
    if unit.level in CHAIN_COLUMN:
        match = f"c.{CHAIN_COLUMN[unit.level]} = %(code)s"
    elif unit.level == "department":
        match = "c.department_code = %(code)s"
    overdue = (
        " AND EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = c.case_id "
        "AND d.breached_at IS NOT NULL AND d.done_at IS NULL AND NOT d.cancelled)"
        if k.numerator == "overdue"
        else ""
    )
    where, scope_params = _scope_on_case(scope)
    query = (
        f"SELECT count(*) OVER () AS total, NULL::text AS left_out_why, c.reported_at AS counted_at, "
        f"{_case_columns()} FROM cases c WHERE c.status = ANY(%(open)s) AND {match}{overdue} "
        f"AND {where} ORDER BY c.reported_at, c.case_id LIMIT %(limit)s OFFSET %(offset)s"
    )
    params = {
        "code": unit.code,
        "open": sorted(OPEN_STATUSES),
        "limit": min(limit, MAX_ROWS),
        "offset": offset,
        **scope_params,
    }
    found = answer(conn, projection, ("cases", "deadlines"), query, params)
    for row in found.rows:
        row["basis"] = "当前状态"
    return found
