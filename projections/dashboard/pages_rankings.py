"""The 排名 page: a bar chart of the top 20 and the whole ranking, a page at a time; each panel
calls the same panel query as ``/api/v1/rankings``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from projections.dashboard.api_rankings import MinSample, rank_level, rankable_kpi
from projections.dashboard.deps import Panel
from projections.dashboard.pages import fragment, frame
from projections.dashboard.paging import Limit, Offset
from projections.dashboard.render import query
from projections.panels import rankings
from projections.panels.kpis import KPIS, RANKABLE, Kpi
from projections.panels.paging import page_of
from projections.panels.ranks import DEFAULT_MIN_SAMPLE, levels_within
from projections.panels.scope import PLACE_LEVELS, Level

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
CHART_ROWS = 20

Level_ = Annotated[Level, Depends(rank_level)]
Kpi_ = Annotated[Kpi, Depends(rankable_kpi)]


def _choices(level: str, k: Kpi, min_sample: int) -> dict[str, Any]:
    return {
        "level": level,
        "kpi": k,
        "min_sample": min_sample,
        "rank_qs": query(level=level, kpi=k.name, min_sample=min_sample),
        "place_levels": PLACE_LEVELS,
    }


@router.get("/rankings", response_class=HTMLResponse)
def rankings_page(
    request: Request, p: Panel, level: Level_, k: Kpi_, min_sample: MinSample = DEFAULT_MIN_SAMPLE
) -> HTMLResponse:
    """排名: the units of a level within the unit, by a KPI."""
    return frame(
        request,
        p,
        "rankings.html",
        "rankings",
        levels=levels_within(p.unit),
        rankable=[KPIS[n] for n in RANKABLE],
        **_choices(level, k, min_sample),
    )


@router.get("/panels/rankings/table", response_class=HTMLResponse)
def table(
    request: Request,
    p: Panel,
    level: Level_,
    k: Kpi_,
    min_sample: MinSample = DEFAULT_MIN_SAMPLE,
    limit: Limit = 50,
    offset: Offset = 0,
) -> HTMLResponse:
    found = rankings.ranking(
        p.conn, p.projection, p.scope, p.unit, p.period, k, level, min_sample, limit, offset
    )
    ranked_total = int(found.rows[0]["ranked_total"]) if found.rows else 0
    return fragment(
        request,
        p,
        "panels/ranking_table.html",
        found,
        ranked_total=ranked_total,
        **page_of(found, limit, offset),
        **_choices(level, k, min_sample),
    )


@router.get("/panels/rankings/chart", response_class=HTMLResponse)
def chart(
    request: Request, p: Panel, level: Level_, k: Kpi_, min_sample: MinSample = DEFAULT_MIN_SAMPLE
) -> HTMLResponse:
    found = rankings.ranking(
        p.conn, p.projection, p.scope, p.unit, p.period, k, level, min_sample, CHART_ROWS
    )
    return fragment(
        request, p, "panels/ranking_chart.html", found, **_choices(level, k, min_sample)
    )
