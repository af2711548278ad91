"""The grid workers' page (网格员): visit progress per grid of a unit over a period, the quarterly
assessment (考核) of the unit's workers, and one worker's tracks of a day.

Which grids and workers belong to a unit comes from ``units`` (a grid's chain; a worker has
their grid's chain); visits and tracks from ``visits`` and ``visit_tracks``; the assessment
from the quarter's row of ``stats_period`` for each worker. Above a street, where a panel has
one row per child unit, each row is read from the projector's per-place rollups
(``place_visits``, ``unit_sizes``, ``stats_period``), never summed from the grids or
workers at the request.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from domain.calendar import SHANGHAI
from projections.panels import geography
from projections.panels.mapview import feature_collection, units_in
from projections.panels.paging import MAX_ROWS, PAGE, page_params
from projections.panels.periods import Period
from projections.panels.scope import Scope, Unit, child_level
from projections.panels.sources import scope_clause
from projections.panels.visiting import assessment_quarter, coverage, working_days
from projections.reading import Answer, answer

__all__ = [
    "LISTED_FROM",
    "MIN_VISITS",
    "WorkersError",
    "assessment",
    "grid_progress",
    "listed",
    "listed_as",
    "track",
    "track_grids",
]

LISTED_FROM = ("street", "village", "grid", "worker")  # listed one by one from a street down
MIN_VISITS = 10  # a worker is ranked with at least this many visits in the quarter
_TRACK_TABLES = ("visits", "visit_tracks")


class WorkersError(ValueError):
    """A unit the workers' page cannot show: a department has no grids or workers."""


def _members(unit: Unit, level: str, scope: Scope) -> tuple[str, dict[str, Any]]:
    """SQL (over alias ``u`` of ``units``) keeping the units of ``level`` (grid or worker)
    that lie in ``unit`` and in the viewer's scope: a worker's own grid, or the worker."""
    if unit.level == "department":
        raise WorkersError("a department has no grids or workers: choose a place or a worker")
    if unit.level != "worker":
        return units_in(unit, level, scope)
    clause, params = scope_clause(scope, "u")
    mine = (
        "u.code = %(unit_code)s"
        if level == "worker"
        else "u.code = (SELECT grid_id FROM units WHERE level = 'worker' AND code = %(unit_code)s)"
    )
    return f"u.level = '{level}' AND {mine} AND {clause}", {**params, "unit_code": unit.code}


def listed(unit: Unit) -> bool:
    """Whether the grids and workers of ``unit`` are listed one by one (a street and below,
    a worker); above a street (the city, a district) they are summed per child unit, and the
    panels answer one row per district or street instead of thousands of grids and workers."""
    return unit.level in LISTED_FROM


def listed_as(unit: Unit, level: str) -> str:
    """What a row of ``unit``'s panel is: ``level`` (grid or worker) where ``listed``, else
    the child level the rows are summed by."""
    return level if listed(unit) else _children(unit)


def _children(unit: Unit) -> str:
    level = child_level(unit.level)
    if level is None:  # a department: no place below it
        raise WorkersError("a department has no grids or workers: choose a place or a worker")
    return level


def grid_progress(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    period: Period,
    limit: int = MAX_ROWS,
    offset: int = 0,
) -> Answer:
    """Visit progress in ``period`` (the projector's ``grid_visits``). From a street down,
    each grid of ``unit``: visits, households visited, workers who visited, working days
    with a visit and the coverage they make (``visiting.COVERAGE_RULE``), and ``unvisited``
    for a grid with no visit; grids with no visit first, then by coverage. Above a street
    (``listed`` false), each child unit with grids: its grids (``unit_sizes``), those
    visited and not, the same sums (``place_visits``) and its coverage (the mean of its
    grids'), in code order. ``limit`` rows from
    ``offset``; every row carries ``total`` (rows), ``unvisited_total`` (grids) and
    ``by`` (``grid`` or the child level).

    Raises:
        WorkersError: ``unit`` is a department.
    """
    if listed(unit):
        by = "grid"
        members, params = _members(unit, "grid", scope)
        query = (
            "WITH g AS (SELECT u.code, u.name, u.village_code FROM units u WHERE "
            + members
            + ") SELECT g.code, g.name, g.village_code, coalesce(v.visits, 0) AS visits, "
            "coalesce(v.households, 0) AS households, coalesce(v.workers, 0) AS workers, "
            "coalesce(v.working_days_visited, 0) AS working_days_visited, v.last_visit, "
            "v.grid_id IS NULL AS unvisited, 1::bigint AS grids, count(*) OVER () AS total, "
            "count(*) FILTER (WHERE v.grid_id IS NULL) OVER () AS unvisited_total "
            "FROM g LEFT JOIN grid_visits v ON v.grid_id = g.code AND v.period = %(period)s "
            "ORDER BY v.grid_id IS NOT NULL, coalesce(v.working_days_visited, 0), g.code "
            f"{PAGE}"
        )
    else:
        by = _children(unit)
        query, params = _progress_by_child(unit, by, scope)
    params.update(period=period.label, **page_params(limit, offset))
    found = answer(conn, projection, ("grid_visits",), query, params)
    through = found.complete_to.astimezone(SHANGHAI).date() if found.complete_to else None
    days = working_days(period, through)
    for row in found.rows:
        row["by"] = by
        row["working_days"] = days
        row["unvisited_total"] = int(row["unvisited_total"] or 0)
        # a child unit's coverage: the mean of its grids', each over the same working days
        row["coverage"] = coverage(row["working_days_visited"], days * row["grids"])
    return found


def _progress_by_child(unit: Unit, by: str, scope: Scope) -> tuple[str, dict[str, Any]]:
    """The query of ``grid_progress`` above a street: each child unit with grids, its grids
    (``unit_sizes``) and its visits of the period (``place_visits``: a grid's visits count
    where the grid lay when visited, as the statistics do), a read of one row each."""
    children, params = units_in(unit, by, scope)
    counts = ", ".join(
        f"coalesce(v.{c}, 0)::bigint AS {c}"
        for c in ("visits", "households", "workers", "working_days_visited")
    )
    query = (
        "WITH c AS (SELECT u.code, u.name, z.grids, coalesce(v.grids_visited, 0) AS visited, "
        f"{counts}, v.last_visit FROM units u "
        "JOIN unit_sizes z ON z.level = u.level AND z.code = u.code AND z.grids > 0 "
        "LEFT JOIN place_visits v ON v.level = u.level AND v.code = u.code "
        f"AND v.period = %(period)s WHERE {children}) "
        # a grid moved in after its visits counts visited where it was, not here
        "SELECT code, name, grids, visited, greatest(grids - visited, 0) AS unvisited_grids, "
        "visits, households, workers, working_days_visited, last_visit, "
        "visited = 0 AS unvisited, count(*) OVER () AS total, "
        "sum(greatest(grids - visited, 0)) OVER () AS unvisited_total "
        f"FROM c ORDER BY code {PAGE}"
    )
    return query, params


def assessment(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    period: Period,
    min_visits: int = MIN_VISITS,
    limit: int = 100,
    offset: int = 0,
) -> Answer:
    """The assessment (考核) over the quarter ``period`` starts in, from the quarter's rows
    of ``stats_period``. From a street down, each of ``unit``'s workers: visits,
    households, discoveries, discovery rate (per visit and per 100 households),
    verifications and those on time, and the rank by discovery rate among the unit's workers
    with at least ``min_visits`` visits (``None`` below it); ranked first. Above a street
    (``listed`` false), each child unit: its workers and the same counters summed over the
    unit's rows, in code order, its workers ranked within it (the child's own page). ``limit``
    rows from ``offset``, every row with ``total``, ``ranked_total`` and ``by`` (``worker``
    or the child level).

    Raises:
        WorkersError: ``unit`` is a department.
    """
    quarter = assessment_quarter(period)
    if not listed(unit):
        return _assessment_by_child(conn, projection, scope, unit, quarter, limit, offset)
    members, params = _members(unit, "worker", scope)
    query = (
        "WITH w AS (SELECT u.code, u.name, u.grid_id FROM units u WHERE " + members + "), "
        "t AS (SELECT w.code AS worker_id, w.name, w.grid_id, "
        + _COUNTERS
        + " FROM w LEFT JOIN stats_period s ON s.level = 'worker' AND s.code = w.code "
        "AND s.period = %(quarter)s), "
        "r AS (SELECT *, " + _RATES + ", visits >= %(min)s AS ranked FROM t), "
        "p AS (SELECT *, CASE WHEN ranked THEN rank() OVER (PARTITION BY ranked "
        "ORDER BY discovery_rate DESC NULLS LAST) END AS rank, count(*) OVER () AS total, "
        "count(*) FILTER (WHERE ranked) OVER () AS ranked_total "
        "FROM r ORDER BY rank NULLS LAST, visits DESC, worker_id " + PAGE + ") "
        # the day of each listed worker's last visit: where their tracks open
        "SELECT p.*, (SELECT max(v.day) FROM visits v WHERE v.worker_id = p.worker_id "
        "AND v.day >= %(start)s AND v.day < %(end)s) AS last_day FROM p "
        "ORDER BY rank NULLS LAST, visits DESC, worker_id"
    )
    params.update(
        quarter=quarter.label,
        start=quarter.start,
        end=quarter.end,
        min=min_visits,
        **page_params(limit, offset),
    )
    found = answer(conn, projection, ("stats_daily",), query, params)
    for row in found.rows:
        row["quarter"] = quarter.label
        row["by"] = "worker"
    return found


# The assessment's counters of a ``stats_period`` row ``s``, zero where it has none.
_COUNTERS = ", ".join(
    f"coalesce(s.{c}, 0)::bigint AS {c}"
    for c in ("visits", "households", "discovered", "verifications", "verifications_on_time")
)
_RATES = (
    "discovered::float / NULLIF(visits, 0) AS discovery_rate, "
    "discovered::float * 100 / NULLIF(households, 0) AS discoveries_per_100_households, "
    "verifications_on_time::float / NULLIF(verifications, 0) AS verification_on_time_rate"
)


def _assessment_by_child(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    quarter: Period,
    limit: int,
    offset: int,
) -> Answer:
    """The assessment's counters of each child unit of the city or a district (its own row
    of ``stats_period``: its workers' visits and verifications, and the cases discovered on
    visits in it) and how many workers it has (its row of ``unit_sizes``)."""
    by = _children(unit)
    members, params = units_in(unit, by, scope)
    query = (
        "WITH c AS (SELECT u.code, u.name FROM units u WHERE " + members + "), "
        "t AS (SELECT c.code, c.name, " + _COUNTERS + ", coalesce(z.workers, 0) AS workers "
        "FROM c LEFT JOIN stats_period s ON s.level = %(by)s AND s.code = c.code "
        "AND s.period = %(quarter)s LEFT JOIN unit_sizes z ON z.level = %(by)s "
        "AND z.code = c.code) "
        "SELECT *, " + _RATES + ", count(*) OVER () AS total, NULL::bigint AS ranked_total "
        "FROM t ORDER BY code " + PAGE
    )
    params.update(by=by, quarter=quarter.label, **page_params(limit, offset))
    found = answer(conn, projection, ("stats_daily",), query, params)
    for row in found.rows:
        row["quarter"] = quarter.label
        row["by"] = by
    return found


def track(
    conn: psycopg.Connection[Any], projection: str, scope: Scope, worker: Unit, day: date
) -> Answer:
    """``worker``'s visits on ``day`` (Asia/Shanghai), in the order made: each with its grid,
    start and end, households, the items checked, its track ``points`` ([lon, lat, ISO
    time], as recorded) and ``findings``: the cases reported on it (id, title, status).

    Raises:
        WorkersError: ``worker`` is not a worker.
    """
    if worker.level != "worker":
        raise WorkersError(f"tracks are a worker's: {worker.key} is not a worker")
    where, params = _members(worker, "worker", scope)
    query = (
        "SELECT v.visit_id, v.grid_id, v.started_at, v.ended_at, v.households, "
        "t.items_checked, t.points, coalesce((SELECT json_agg(json_build_object('case_id', "
        "c.case_id, 'title', c.title, 'status', c.status) ORDER BY c.case_id) FROM cases c "
        "WHERE c.case_id = ANY(t.finding_case_ids)), '[]') AS findings, "
        "cardinality(t.finding_case_ids) AS findings_reported "
        "FROM visits v JOIN visit_tracks t USING (visit_id) "
        "WHERE v.worker_id = %(unit_code)s AND v.day = %(day)s "
        f"AND EXISTS (SELECT 1 FROM units u WHERE {where}) "
        "ORDER BY v.started_at, v.visit_id"
    )
    params["day"] = day
    return answer(conn, projection, _TRACK_TABLES, query, params)


def track_grids(conn: psycopg.Connection[Any], projection: str, tracks: Answer) -> dict[str, Any]:
    """The polygons of the grids ``tracks`` (an answer of ``track``) were walked in, as a
    GeoJSON FeatureCollection: empty where the reference data gives no boundary."""
    rows = [
        row
        for grid in sorted({r["grid_id"] for r in tracks.rows})
        for row in geography.shapes(conn, projection, "grid", ("grid", grid)).rows
    ]
    return feature_collection(rows)
