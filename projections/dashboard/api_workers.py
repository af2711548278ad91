"""The JSON API of the grid workers' page (``/api/v1/workers/...``): visit progress per grid,
the quarterly assessment, one worker's tracks of a day; the same panel queries as the page,
and the ``Track`` dependency both use (a worker and a local day)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from events.problems import Problem, problem_responses
from projections.dashboard.api import out
from projections.dashboard.deps import Conn, Panel, PanelArgs, ViewerScope, settings_of
from projections.dashboard.shapes import PanelOut
from projections.panels import workers
from projections.panels.paging import MAX_ROWS
from projections.panels.periods import PeriodError, parse_period
from projections.panels.scope import Unit, UnitError, parse_unit
from projections.panels.units import UnknownUnit, describe
from projections.panels.visiting import COVERAGE_RULE, assessment_quarter

__all__ = ["Track", "router", "track_args"]

router = APIRouter(prefix="/api/v1/workers", responses=problem_responses(403, 404, 422, 503))
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def track_args(
    request: Request,
    conn: Conn,
    scope: ViewerScope,
    worker: Annotated[
        str | None,
        Query(description="the worker's id", max_length=64, examples=["W-330211001-001"]),
    ] = None,
    day: Annotated[
        str | None,
        Query(description="the local day (Asia/Shanghai), YYYY-MM-DD", max_length=10),
    ] = None,
    unit: Annotated[
        str | None, Query(description="`worker:<id>`, for `worker`", max_length=80)
    ] = None,
    at: Annotated[str | None, Query(description="the day, for `day`", max_length=10)] = None,
) -> PanelArgs:
    """A worker and a day, as a panel's unit and period (the page's own period form sends
    them as ``unit`` and ``at``); 404 for a worker the reference data does not name."""
    if worker is None and unit is not None and unit.startswith("worker:"):
        worker = unit.removeprefix("worker:")
    if worker is None:
        raise Problem(422, "missing worker", "say whose tracks: worker=<id>", "worker")
    day = day or at
    if day is None:
        raise Problem(422, "missing day", "say which day: day=YYYY-MM-DD", "day", ["YYYY-MM-DD"])
    try:
        worker_unit: Unit = parse_unit(f"worker:{worker}")
    except UnitError as exc:
        raise Problem(422, "invalid worker", str(exc), "worker") from exc
    try:
        period = parse_period("day", day)
    except PeriodError as exc:
        raise Problem(422, "invalid day", str(exc), "day", ["YYYY-MM-DD"]) from exc
    settings = settings_of(request)
    try:
        describe(conn, settings.projection, worker_unit, scope)
    except UnknownUnit as exc:
        raise Problem(404, "unknown worker", str(exc), "worker") from exc
    watch, memo = request.app.state.watch, request.app.state.memo
    return PanelArgs(conn, settings.projection, scope, worker_unit, period, watch, memo)


Track = Annotated[PanelArgs, Depends(track_args)]


@router.get(
    "/grids",
    summary="走访进度: visits, households and coverage of each grid of the unit (from a "
    "street down), or summed per child unit (the city's districts, a district's streets)",
)
def grids(
    p: Panel,
    limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = MAX_ROWS,
    offset: Offset = 0,
) -> PanelOut[dict[str, Any]]:
    found = p.remember(
        "worker_grids",
        lambda: workers.grid_progress(
            p.conn, p.projection, p.scope, p.unit, p.period, limit, offset
        ),
        limit,
        offset,
    )
    first = found.rows[0] if found.rows else {}
    extra = {
        "coverage_rule": COVERAGE_RULE,
        "by": workers.listed_as(p.unit, "grid"),
        "total": first.get("total", 0),
        "unvisited_total": first.get("unvisited_total", 0),
    }
    return out("worker_grids", p, found, extra)


@router.get(
    "/assessment",
    summary="考核: the quarterly assessment of the unit's grid workers (from a street down), "
    "or summed per child unit (the city's districts, a district's streets)",
)
def assessment(
    p: Panel,
    min_visits: Annotated[int, Query(ge=0, le=10_000)] = workers.MIN_VISITS,
    limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 100,
    offset: Offset = 0,
) -> PanelOut[dict[str, Any]]:
    found = p.remember(
        "worker_assessment",
        lambda: workers.assessment(
            p.conn, p.projection, p.scope, p.unit, p.period, min_visits, limit, offset
        ),
        min_visits,
        limit,
        offset,
    )
    first = found.rows[0] if found.rows else {}
    extra = {
        "quarter": assessment_quarter(p.period).label,
        "min_visits": min_visits,
        "by": workers.listed_as(p.unit, "worker"),
        "total": first.get("total", 0),
        "ranked_total": first.get("ranked_total", 0),
    }
    return out("worker_assessment", p, found, extra)


@router.get("/track", summary="走访轨迹: one worker's visits of a day with their tracks")
def track(t: Track) -> PanelOut[dict[str, Any]]:
    found = t.remember(
        "worker_track", lambda: workers.track(t.conn, t.projection, t.scope, t.unit, t.period.start)
    )
    grids = workers.track_grids(t.conn, t.projection, found)
    return out("worker_track", t, found, {"grids": grids})
