"""排名 over JSON (``/api/v1/rankings``): the units of a level within a unit ranked by a KPI,
from the same panel query as the page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from events.problems import Problem, problem_responses
from projections.dashboard.api import out
from projections.dashboard.deps import Panel, kpi_query, unit_param
from projections.dashboard.paging import Limit, Offset
from projections.dashboard.shapes import PanelOut
from projections.panels import rankings
from projections.panels.kpis import RANKABLE, Kpi
from projections.panels.paging import page_of
from projections.panels.ranks import (
    DEFAULT_MIN_SAMPLE,
    RANK_LEVELS,
    LevelError,
    check_level,
    default_level,
)
from projections.panels.scope import Level, Unit

__all__ = ["MinSample", "RankRow", "rank_level", "rankable_kpi", "router"]

router = APIRouter(prefix="/api/v1", responses=problem_responses(403, 404, 422, 503))

MinSample = Annotated[
    int,
    Query(
        ge=0,
        le=100_000,
        description="a unit whose sample (n) is smaller is listed without a rank",
    ),
]


class RankRow(BaseModel):
    rank: int | None = Field(description="none: no value, or a rate's sample below the minimum")
    code: str
    name: str
    parent: str | None = Field(description="the unit one level up (a worker's grid)")
    parent_name: str | None
    value: float | None = Field(description="the KPI; rates as fractions")
    n: int = Field(description="the sample: the KPI's denominator, or the count's base")
    ranked: bool


def rank_level(
    unit: Annotated[Unit, Depends(unit_param)],
    level: Annotated[
        str | None,
        Query(
            description="the units ranked: " + ", ".join(RANK_LEVELS) + "; by default the "
            "units one level down",
            max_length=20,
            json_schema_extra={"enum": list(RANK_LEVELS)},
        ),
    ] = None,
) -> Level:
    try:
        # absent is the default level; an empty one is refused as any other unknown level
        return check_level(unit, (default_level(unit) or "") if level is None else level)
    except LevelError as exc:
        raise Problem(422, "invalid level", str(exc), "level", list(exc.allowed)) from exc


rankable_kpi = kpi_query(RANKABLE, "on_time_rate", "a rankable KPI", "KPI cannot be ranked")


@router.get("/rankings", summary="排名: units of a level within the unit ranked by a KPI")
def ranking(
    p: Panel,
    level: Annotated[Level, Depends(rank_level)],
    k: Annotated[Kpi, Depends(rankable_kpi)],
    min_sample: MinSample = DEFAULT_MIN_SAMPLE,
    limit: Limit = 50,
    offset: Offset = 0,
) -> PanelOut[RankRow]:
    found = p.remember(
        "rankings",
        lambda: rankings.ranking(
            p.conn, p.projection, p.scope, p.unit, p.period, k, level, min_sample, limit, offset
        ),
        k.name,
        level,
        min_sample,
        limit,
        offset,
    )
    ranked_total = int(found.rows[0]["ranked_total"]) if found.rows else 0
    extra = {
        "kpi": k.name,
        "label": k.label,
        "value_unit": k.unit,
        "level": level,
        "min_sample": min_sample,
        "ranked_total": ranked_total,
        **page_of(found, limit, offset),
    }
    return out("rankings", p, found, extra)
