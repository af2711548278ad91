"""The map page (地图, ``/map``): a level's shapes inside the unit coloured by a KPI, with the
period's cases as points; one panel drawn from the same queries as ``api_map``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from projections.dashboard.api_map import Level
from projections.dashboard.deps import Panel, kpi_param
from projections.dashboard.pages import fragment, frame
from projections.panels import mapview
from projections.panels.kpis import KPIS, Kpi

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/map", response_class=HTMLResponse)
def map_page(
    request: Request, p: Panel, level: Level, k: Annotated[Kpi, Depends(kpi_param)]
) -> HTMLResponse:
    level = mapview.level_for(p.unit, level)
    levels = [lvl for lvl in mapview.MAP_LEVELS if mapview.drawable(p.unit, lvl)]
    kpis = [k for k in KPIS.values() if k.listed]
    return frame(request, p, "map.html", "map", level=level, kpi=k, levels=levels, kpis=kpis)


@router.get("/panels/map/map", response_class=HTMLResponse)
def map_panel(
    request: Request, p: Panel, level: Level, k: Annotated[Kpi, Depends(kpi_param)]
) -> HTMLResponse:
    level = mapview.level_for(p.unit, level)
    shapes = mapview.outlines(p.conn, p.projection, p.scope, p.unit, level)
    found = mapview.values(p.conn, p.projection, p.scope, p.unit, p.period, level, k)
    points = mapview.case_points(p.conn, p.projection, p.scope, p.unit, p.period)
    return fragment(
        request,
        p,
        "panels/map.html",
        found,
        level=level,
        kpi=k,
        geo=mapview.feature_collection(shapes.rows),
        missing=shapes.missing,
        points=[
            {"case_id": r["case_id"], "lon": r["lon"], "lat": r["lat"], "title": r["title"]}
            for r in points.rows
        ],
        points_total=points.rows[0]["total"] if points.rows else 0,
    )
