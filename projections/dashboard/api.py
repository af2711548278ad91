"""The JSON API (``/api/v1``): the same numbers as every panel of the pages, from the same
panel queries, each with its freshness."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from events.problems import problem_responses
from projections.dashboard.deps import Panel, kpi_param
from projections.dashboard.paging import Limit, Offset
from projections.dashboard.shapes import PanelOut, Tile, freshness_of
from projections.panels import drill, handoffs, overview
from projections.panels.kpis import KPIS, Kpi
from projections.panels.paging import MAX_ROWS, page_of
from projections.reading import Answer

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", responses=problem_responses(403, 404, 422, 503))


def out(name: str, p: Panel, found: Answer, extra: dict[str, Any] | None = None) -> PanelOut[Any]:
    """A panel's answer in the API's one shape."""
    return PanelOut[Any](
        panel=name,
        unit=p.unit.key,
        period=p.period.label,
        period_kind=p.period.kind,
        freshness=freshness_of(found, p.position),
        rows=found.rows,
        extra=extra,
    )


@router.get("/health", summary="the app answers (no read model touched): the benchmark's baseline")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/kpis", summary="every KPI: its Chinese name, kind and definition")
def kpis() -> list[dict[str, Any]]:
    return [
        {
            "name": k.name,
            "label": k.label,
            "kind": k.kind,
            "numerator": k.numerator,
            "denominator": k.denominator,
            "unit": k.unit,
            "lower_is_better": k.lower_is_better,
        }
        for k in KPIS.values()
    ]


@router.get("/unit", summary="a unit's name and its parents (the breadcrumb)")
def unit(p: Panel) -> PanelOut[dict[str, Any]]:
    return out("unit", p, p.described())


@router.get("/overview/tiles", summary="总览 KPI tiles with 环比 and 同比")
def tiles(p: Panel) -> PanelOut[Tile]:
    found = p.remember(
        "tiles", lambda: overview.tiles(p.conn, p.projection, p.scope, p.unit, p.period)
    )
    return out("tiles", p, found)


@router.get("/overview/funnel", summary="the funnel 上报 → 立案 → 派遣 → 处置 → 核查 → 结案")
def funnel(p: Panel) -> PanelOut[dict[str, Any]]:
    found = p.remember(
        "funnel", lambda: overview.funnel(p.conn, p.projection, p.scope, p.unit, p.period)
    )
    return out("funnel", p, found)


@router.get("/overview/trend", summary="daily counts of the funnel's stages over the period")
def trend(p: Panel) -> PanelOut[dict[str, Any]]:
    found = p.remember(
        "trend", lambda: overview.trend(p.conn, p.projection, p.scope, p.unit, p.period)
    )
    return out("trend", p, found)


@router.get("/overview/children", summary="the KPIs of each unit one level down")
def children(p: Panel) -> PanelOut[dict[str, Any]]:
    found = p.remember(
        "children", lambda: overview.children(p.conn, p.projection, p.scope, p.unit, p.period)
    )
    return out("children", p, found)


@router.get(
    "/overview/handoffs",
    summary="多次推诿: the cases flagged in the period as handed off repeatedly, latest first",
)
def flagged_handoffs(p: Panel, limit: Limit = 50, offset: Offset = 0) -> PanelOut[dict[str, Any]]:
    found = handoffs.flagged(p.conn, p.projection, p.scope, p.unit, p.period, limit, offset)
    return out("handoffs", p, found, page_of(found, limit, offset))


@router.get("/drill", summary="the cases behind a number: numerator, denominator, left out")
def cases_behind(
    p: Panel,
    k: Annotated[Kpi, Depends(kpi_param)],
    part: Annotated[Literal["numerator", "denominator", "left_out"], Query()] = "numerator",
    limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PanelOut[dict[str, Any]]:
    found = p.remember(
        "drill",
        lambda: drill.cases_behind(
            p.conn, p.projection, p.scope, p.unit, p.period, k, part, limit, offset
        ),
        k.name,
        part,
        limit,
        offset,
    )
    total = found.total
    return out("drill", p, found, {"kpi": k.name, "label": k.label, "part": part, "total": total})
