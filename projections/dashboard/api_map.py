"""The JSON API of the map (``/api/v1/map/...``): the shapes of a level inside the unit, each
unit's value of a KPI over the period, and the period's cases as points; the same panel
queries as the page, and the ``level`` parameter both use."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from events.problems import Problem, problem_responses
from projections.dashboard.api import out
from projections.dashboard.deps import Panel, kpi_param
from projections.dashboard.shapes import PanelOut
from projections.panels import mapview
from projections.panels.kpis import Kpi

__all__ = ["Level", "level_param", "router"]

router = APIRouter(prefix="/api/v1/map", responses=problem_responses(403, 404, 422, 503))


def level_param(
    level: Annotated[
        str | None,
        Query(
            description="the units drawn: "
            + ", ".join(mapview.MAP_LEVELS)
            + "; by default the level below the unit",
            max_length=20,
            json_schema_extra={"enum": list(mapview.MAP_LEVELS)},
        ),
    ] = None,
) -> str | None:
    if level is not None and level not in mapview.MAP_LEVELS:
        raise Problem(
            422,
            "invalid map level",
            f"map level {level!r} is not one of {', '.join(mapview.MAP_LEVELS)}",
            "level",
            list(mapview.MAP_LEVELS),
        )
    return level


Level = Annotated[str | None, Depends(level_param)]


@router.get("/shapes", summary="the GeoJSON shapes of a level's units inside the unit")
def shapes(p: Panel, level: Level) -> PanelOut[dict[str, Any]]:
    drawn = mapview.level_for(p.unit, level)
    found = p.remember(
        "map_shapes", lambda: mapview.outlines(p.conn, p.projection, p.scope, p.unit, drawn), drawn
    )
    return out("map_shapes", p, found, {"level": drawn, "missing": found.missing})


@router.get("/values", summary="each unit's value of a KPI over the period, for the colours")
def values(
    p: Panel, level: Level, k: Annotated[Kpi, Depends(kpi_param)]
) -> PanelOut[dict[str, Any]]:
    drawn = mapview.level_for(p.unit, level)
    found = p.remember(
        "map_values",
        lambda: mapview.values(p.conn, p.projection, p.scope, p.unit, p.period, drawn, k),
        drawn,
        k.name,
    )
    return out("map_values", p, found, {"level": drawn, "kpi": k.name, "label": k.label})


@router.get("/points", summary="the period's cases with a location, the latest first")
def points(
    p: Panel, limit: Annotated[int, Query(ge=1, le=mapview.MAX_POINTS)] = mapview.MAX_POINTS
) -> PanelOut[dict[str, Any]]:
    found = p.remember(
        "map_points",
        lambda: mapview.case_points(p.conn, p.projection, p.scope, p.unit, p.period, limit),
        limit,
    )
    total = found.rows[0]["total"] if found.rows else 0
    return out("map_points", p, found, {"drawn": len(found.rows), "total": total})
