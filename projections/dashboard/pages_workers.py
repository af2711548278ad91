"""The grid workers' page (网格员, ``/workers``) and a worker's tracks of a day
(``/workers/track``): frames whose panels call the same queries as ``api_workers``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from projections.dashboard.api_workers import Track
from projections.dashboard.deps import Panel
from projections.dashboard.pages import fragment, frame
from projections.dashboard.render import query
from projections.panels import workers
from projections.panels.visiting import COVERAGE_RULE, assessment_quarter

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
PAGE = 100


@router.get("/workers", response_class=HTMLResponse)
def workers_page(request: Request, p: Panel) -> HTMLResponse:
    quarter = assessment_quarter(p.period)
    return frame(request, p, "workers.html", "workers", quarter=quarter)


@router.get("/panels/workers/grids", response_class=HTMLResponse)
def grids(request: Request, p: Panel, offset: Offset = 0) -> HTMLResponse:
    found = workers.grid_progress(p.conn, p.projection, p.scope, p.unit, p.period, PAGE, offset)
    first = found.rows[0] if found.rows else {}
    return fragment(
        request,
        p,
        "panels/worker_grids.html",
        found,
        rule=COVERAGE_RULE,
        total=first.get("total", 0),
        unvisited_total=first.get("unvisited_total", 0),
        by=workers.listed_as(p.unit, "grid"),
        offset=offset,
        page=PAGE,
    )


@router.get("/panels/workers/assessment", response_class=HTMLResponse)
def assessment(request: Request, p: Panel, offset: Offset = 0) -> HTMLResponse:
    found = workers.assessment(
        p.conn, p.projection, p.scope, p.unit, p.period, workers.MIN_VISITS, PAGE, offset
    )
    first = found.rows[0] if found.rows else {}
    return fragment(
        request,
        p,
        "panels/worker_assessment.html",
        found,
        quarter=assessment_quarter(p.period),
        min_visits=workers.MIN_VISITS,
        total=first.get("total", 0),
        ranked_total=first.get("ranked_total", 0),
        by=workers.listed_as(p.unit, "worker"),
        offset=offset,
        page=PAGE,
    )


@router.get("/workers/track", response_class=HTMLResponse)
def track_page(request: Request, t: Track) -> HTMLResponse:
    here = query(worker=t.unit.code, day=t.period.label)
    return frame(request, t, "worker_track.html", "workers", track_qs=here)


@router.get("/panels/workers/track", response_class=HTMLResponse)
def track(request: Request, t: Track) -> HTMLResponse:
    found = workers.track(t.conn, t.projection, t.scope, t.unit, t.period.start)
    grids = workers.track_grids(t.conn, t.projection, found)
    return fragment(request, t, "panels/worker_track.html", found, grids=grids)
