"""The pages (HTML). A page is a frame (navigation, unit, period) with panels that htmx
loads from ``/panels/...`` and reloads when the live stream says the projection moved; each
panel calls the same panel query as its ``/api/v1`` twin and renders it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from projections.dashboard.deps import Panel, kpi_param
from projections.dashboard.paging import Limit, Offset
from projections.dashboard.render import page_context, templates
from projections.dashboard.shapes import freshness_of
from projections.panels import drill, handoffs, overview
from projections.panels.kpis import FLOWS, KPIS, OVERVIEW_TILES, Kpi
from projections.panels.paging import page_of
from projections.reading import Answer

__all__ = ["fragment", "frame", "router"]

router = APIRouter(include_in_schema=False)


def frame(request: Request, p: Panel, template: str, active: str, **more: Any) -> HTMLResponse:
    """A whole page: its frame and the panels its template lays out."""
    crumbs = p.described().rows
    context = page_context(active, p.unit, p.period, crumbs, **more)
    return templates.TemplateResponse(request, template, context)


def fragment(request: Request, p: Panel, template: str, found: Answer, **more: Any) -> HTMLResponse:
    """One panel, with its freshness line (数据截至 …)."""
    context = page_context(
        "", p.unit, p.period, [], rows=found.rows, fresh=freshness_of(found, p.position), **more
    )
    return templates.TemplateResponse(request, template, context)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/overview", status_code=307)


@router.get("/overview", response_class=HTMLResponse)
def overview_page(request: Request, p: Panel) -> HTMLResponse:
    return frame(request, p, "overview.html", "overview")


@router.get("/panels/overview/tiles", response_class=HTMLResponse)
def tiles(request: Request, p: Panel) -> HTMLResponse:
    found = p.remember(
        "tiles", lambda: overview.tiles(p.conn, p.projection, p.scope, p.unit, p.period)
    )
    return fragment(request, p, "panels/tiles.html", found)


@router.get("/panels/overview/funnel", response_class=HTMLResponse)
def funnel(request: Request, p: Panel) -> HTMLResponse:
    found = p.remember(
        "funnel", lambda: overview.funnel(p.conn, p.projection, p.scope, p.unit, p.period)
    )
    return fragment(request, p, "panels/funnel.html", found)


@router.get("/panels/overview/trend", response_class=HTMLResponse)
def trend(request: Request, p: Panel) -> HTMLResponse:
    found = p.remember(
        "trend", lambda: overview.trend(p.conn, p.projection, p.scope, p.unit, p.period)
    )
    series = [{"name": KPIS[n].label, "metric": KPIS[n].numerator} for n in FLOWS]
    return fragment(request, p, "panels/trend.html", found, series=series)


@router.get("/panels/overview/children", response_class=HTMLResponse)
def children(request: Request, p: Panel) -> HTMLResponse:
    found = p.remember(
        "children", lambda: overview.children(p.conn, p.projection, p.scope, p.unit, p.period)
    )
    kpis = [KPIS[n] for n in OVERVIEW_TILES]
    return fragment(request, p, "panels/children.html", found, kpis=kpis)


@router.get("/panels/overview/handoffs", response_class=HTMLResponse)
def flagged_handoffs(
    request: Request, p: Panel, limit: Limit = 50, offset: Offset = 0
) -> HTMLResponse:
    found = handoffs.flagged(p.conn, p.projection, p.scope, p.unit, p.period, limit, offset)
    return fragment(request, p, "panels/handoffs.html", found, **page_of(found, limit, offset))


Part = Literal["numerator", "denominator", "left_out"]


def _cases(request: Request, p: Panel, k: Kpi, part: Part, offset: int) -> HTMLResponse:
    found = p.remember(
        "drill",
        lambda: drill.cases_behind(
            p.conn, p.projection, p.scope, p.unit, p.period, k, part, 100, offset
        ),
        k.name,
        part,
        100,
        offset,
    )
    total = found.total
    return frame(
        request,
        p,
        "drill.html",
        "cases",
        rows=found.rows,
        total=total,
        kpi=k,
        part=part,
        offset=offset,
        fresh=freshness_of(found, p.position),
    )


@router.get("/drill", response_class=HTMLResponse)
def drill_page(
    request: Request,
    p: Panel,
    k: Annotated[Kpi, Depends(kpi_param)],
    part: Annotated[Part, Query()] = "numerator",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    """The cases behind a number: its numerator, denominator, or those left out."""
    return _cases(request, p, k, part, offset)


@router.get("/cases", response_class=HTMLResponse)
def case_list(
    request: Request, p: Panel, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0
) -> HTMLResponse:
    """The cases reported in the unit in the period: the drill of 上报."""
    return _cases(request, p, KPIS["reported"], "numerator", offset)
