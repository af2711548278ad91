"""From a number to its cases (★ every number drills to its cases): the cases behind a KPI of a
unit in a period, as its numerator, its denominator, and the denominator's cases the numerator
left out with why.

Each counter is backed by the facts it was counted from: the events of its types in the case
timeline (by event time, the case's place at report time, the acting worker), the
resolutions table for resolution counters (by the resolving department), or the cases
themselves for the close rates' cohort (first dispatched in the period; by the department
first dispatched to). Department units are matched on the department a resolution names, or
otherwise on the case's current department; the answer says which (``basis``).

The total of a place's (or the city's) drill is the counter it drills, read from the
rollups (``stats_daily``, ``stats_period``, ``unit_now``), which count the same facts by
construction; only the page of cases is read from the facts, in order, ``limit`` at a time.
A department's or a worker's total is counted from the facts: their counters credit
whoever acted, which is not always whom the facts are matched on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row

from domain.case_state import OPEN_STATUSES
from domain.funnel_moves import FUNNEL_SQL
from projections.panels.kpis import Kpi
from projections.panels.paging import PAGE, page_params
from projections.panels.periods import Period
from projections.panels.scope import CHAIN_COLUMN, FEW_CASES, Scope, Unit
from projections.panels.sources import STATS_TABLES, ScopeRefused, period_source, rows_of
from projections.reading import Answer, freshness, snapshot

__all__ = ["PARTS", "DrillError", "Drilled", "cases_behind"]

Part = Literal["numerator", "denominator", "left_out"]
PARTS: tuple[Part, ...] = ("numerator", "denominator", "left_out")


class DrillError(ValueError):
    """A drill that does not exist: a count has no denominator, visits are not cases."""


@dataclass(frozen=True)
class Facts:
    """Where a counter's cases come from: timeline events of ``events`` (or resolutions),
    with an extra condition."""

    events: tuple[str, ...] = ()
    resolutions: bool = False
    # A cohort of cases, by the column that dates them into the period: first dispatched in it
    # (the close rates', ``domain.stats_moves.cohort_moves``) or reported in it (the funnel's,
    # ``domain.funnel_moves``); per department, the department first dispatched to.
    cohort: str | None = None
    where: str = "TRUE"

    @property
    def reports(self) -> bool:
        """Facts that are the cases' reports: one per case, at its ``reported_at``."""
        return self.events == ("CaseReported",)


@dataclass(frozen=True)
class Drilled(Answer):
    """A page of the cases behind a number, and ``total``: how many there are in all."""

    total: int = 0


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
    "handoff_requests": Facts(("HandoffRequested",)),
    "escalations": Facts(("CaseEscalated",)),
    "breaches": Facts(("DeadlineBreached",)),
    "evaluations": Facts(("CaseEvaluated",)),
    "satisfaction_sum": Facts(("CaseEvaluated",)),
    "due_to_close": Facts(cohort="first_dispatched_at"),
    "closed_of_due": Facts(cohort="first_dispatched_at", where="c.status = 'closed'"),
    "closed_on_time_of_due": Facts(
        cohort="first_dispatched_at", where="c.status = 'closed' AND c.on_time"
    ),
    **{metric: Facts(cohort="reported_at", where=sql) for metric, sql in FUNNEL_SQL.items()},
}
# Why a case of the denominator is not in the numerator.
_LEFT_OUT_WHY = {
    "resolved_on_time": "逾期办结",
    "closed": "尚未结案",
    "verifications_passed": "核查未通过",
    "reworks": "未返工",
    "closed_of_due": "尚未结案",
    "closed_on_time_of_due": "尚未结案或未按期办结",
}


def _unit_match(unit: Unit, facts: Facts) -> tuple[str, str]:
    """SQL matching the case (``c``) or fact (``f``) to ``unit``, and the basis it uses."""
    if unit.level == "city":
        return "TRUE", "全市"
    if unit.level in CHAIN_COLUMN:
        return f"c.{CHAIN_COLUMN[unit.level]} = %(code)s", "案件上报时所在地"
    if unit.level == "department":
        if facts.resolutions:
            return "f.department_code = %(code)s", "办结部门"
        if facts.cohort:
            return "c.first_department_code = %(code)s", "首次派遣部门"
        return "c.department_code = %(code)s", "案件当前承办部门"
    if facts.cohort:
        raise DrillError("a cohort's cases are counted per place and department")
    return "f.actor_id = %(code)s", "经办网格员"


def _facts_sql(k_metric: str, unit: Unit, period: Period) -> tuple[str, dict[str, Any], str]:
    facts = _FACTS[k_metric]
    match, basis = _unit_match(unit, facts)
    if facts.cohort:
        at = f"c.{facts.cohort}"
        source = (
            f"SELECT c.case_id, 0 AS sequence, {at} AS ord, {at} AS at FROM cases c "
            f"WHERE {at} >= %(t0)s AND {at} < %(t1)s"
        )
    elif facts.resolutions:
        if unit.level == "worker":
            raise DrillError("resolutions are not counted for workers")
        source = (
            # in the order of its index (day, case, sequence); shown at the resolution's time
            "SELECT f.case_id, f.sequence, f.day AS ord, (SELECT t.event_time FROM "
            "case_timeline t WHERE t.case_id = f.case_id AND t.sequence = f.sequence) AS at "
            "FROM resolutions f JOIN cases c USING (case_id) "
            "WHERE f.day >= %(start)s AND f.day < %(end)s"
        )
    else:
        # one event type by equality: the index then hands the facts over latest first
        kind = "= %(event)s" if len(facts.events) == 1 else "= ANY(%(events)s)"
        source = (
            "SELECT f.case_id, f.sequence, f.event_time AS ord, f.event_time AS at "
            f"FROM case_timeline f JOIN cases c USING (case_id) WHERE f.event_type {kind} "
            "AND f.event_time >= %(t0)s AND f.event_time < %(t1)s"
        )
    query = f"{source} AND {match} AND {facts.where}"
    if unit.level in FEW_CASES and not facts.cohort:
        # A street's cases are few: read them first and their facts by key. Walking the
        # city's facts in order until a page of theirs turns up is the way for the city
        # and a district, whose facts are a tenth of the city's or more.
        query = f"WITH mine AS MATERIALIZED (SELECT * FROM cases c WHERE {match}) " + query.replace(
            "JOIN cases c USING", "JOIN mine c USING"
        )
    params = {
        "code": unit.code,
        "start": period.start,
        "end": period.end,
        "t0": period.start_at,
        "t1": period.end_at,
        "events": list(facts.events),
        "event": facts.events[0] if facts.events else None,
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
) -> Drilled:
    """The cases behind ``k`` of ``unit`` in ``period``: one row per counted fact (a case
    counted twice, e.g. dispatched twice, is listed twice, so the rows add up to the number),
    the latest first, ``limit`` rows from ``offset``; ``total`` is how many there are in all
    (``left_out``: the denominator less the numerator).

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
    listed = (
        f"WITH facts AS ({query}) SELECT {reason} AS left_out_why, "
        f"facts.at AS counted_at, {_case_columns()} FROM facts JOIN cases c USING (case_id) "
        f"WHERE {where} ORDER BY facts.ord DESC, facts.case_id DESC, facts.sequence DESC "
        f"{PAGE}"
    )
    params.update(scope_params, **page_params(limit, offset))
    signed = [(metric, 1), *([(k.numerator, -1)] if part == "left_out" else [])]
    if unit.level in _COUNTED or (
        unit.level == "department" and all(_department_counted(m) for m, _ in signed)
    ):
        total = _counter_sql(unit, scope, period, signed)
    elif unit.level == "department" and part == "numerator" and _FACTS[metric].reports:
        total = _reports_sql(unit, scope, period, _FACTS[metric].where)
    else:
        total = (
            (
                f"WITH facts AS ({query}) SELECT count(*) FROM facts JOIN cases c "
                f"USING (case_id) WHERE {where}"
            ),
            params,
        )
    tables = ("case_timeline", "resolutions", *STATS_TABLES)
    return _read(conn, projection, tables, listed, params, total, basis)


# Units whose drill totals are their counters: places count a case where it was reported,
# which is where the facts are matched.
_COUNTED = ("city", *CHAIN_COLUMN)


def _department_counted(metric: str) -> bool:
    """Whether a department's counter of ``metric`` credits the department its facts are
    matched on: the resolving department (a reworked resolution taken back from it, as its
    row is from ``resolutions``) and the department first dispatched to (the cohort)."""
    facts = _FACTS[metric]
    return facts.resolutions or facts.cohort is not None


def _reports_sql(
    unit: Unit, scope: Scope, period: Period, where: str
) -> tuple[str, dict[str, Any]]:
    """SQL counting a department's reports in ``period`` from its cases alone: a case is
    reported once, and its ``reported_at`` is its CaseReported's event time (no read of the
    city's timeline, which a department's counters do not cover: they credit whoever acted)."""
    scoped, params = _scope_on_case(scope)
    params.update(code=unit.code, t0=period.start_at, t1=period.end_at)
    query = (
        "SELECT count(*) FROM cases c WHERE c.department_code = %(code)s "
        f"AND c.reported_at >= %(t0)s AND c.reported_at < %(t1)s AND {where} AND {scoped}"
    )
    return query, params


def _counter_sql(
    unit: Unit, scope: Scope, period: Period, signed: list[tuple[str, int]]
) -> tuple[str, dict[str, Any]]:
    """SQL summing ``signed`` counters (each added or taken away) of ``unit`` in ``period``
    (the city: its districts' rows), within ``scope``."""
    where, params = rows_of(unit, scope)
    source = period_source(period)
    terms = " + ".join(f"{sign} * coalesce(sum(s.{metric}), 0)" for metric, sign in signed)
    params["key"] = source.keys[0]
    return (
        (
            f"SELECT ({terms})::bigint FROM {source.table} s "
            f"WHERE {where} AND s.{source.column} = %(key)s"
        ),
        params,
    )


def _read(
    conn: psycopg.Connection[Any],
    projection: str,
    tables: tuple[str, ...],
    listed: str,
    params: dict[str, Any],
    total: tuple[str, dict[str, Any]],
    basis: str,
) -> Drilled:
    """The page of cases and the total, from one snapshot."""
    total_sql, total_params = total
    with snapshot(conn, projection) as schema:
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(listed, params).fetchall()
        (count,) = conn.execute(total_sql, total_params).fetchone() or (0,)
        complete_to = freshness(conn, tables)
    for row in rows:
        row["basis"] = basis
    return Drilled(rows, complete_to, schema, total=int(count or 0))


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
) -> Drilled:
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
    listed = (
        f"SELECT NULL::text AS left_out_why, c.reported_at AS counted_at, "
        f"{_case_columns()} FROM cases c WHERE c.status = ANY(%(open)s) AND {match}{overdue} "
        f"AND {where} ORDER BY c.reported_at, c.case_id {PAGE}"
    )
    params = {
        "code": unit.code,
        "open": sorted(OPEN_STATUSES),
        **page_params(limit, offset),
        **scope_params,
    }
    # the cases each place and department holds now are counted in unit_now
    counted, counted_params = rows_of(unit, scope)
    total = (
        f"SELECT coalesce(sum(s.{k.numerator}), 0)::bigint FROM unit_now s WHERE {counted}",
        counted_params,
    )
    return _read(conn, projection, ("cases", "deadlines"), listed, params, total, "当前状态")
