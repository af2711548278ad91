"""A case's page (``/case/<case_id>``): the frame with the case's place as its breadcrumb, and
four panels that htmx loads from ``/panels/case/...`` (header, trace, deadlines, refusals),
each calling the same panel function as ``/api/v1/cases/{case_id}``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from projections.dashboard.deps import period_param
from projections.dashboard.deps_case import Case
from projections.dashboard.render import page_context, query, templates
from projections.dashboard.shapes import freshness_of
from projections.panels import case, terms
from projections.panels.periods import Period
from projections.panels.scope import PLACE_LEVELS, Unit

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

# The case page's words, by the field they name.
WORDS: dict[str, dict[str, str]] = {
    "channel": terms.CHANNEL,
    "priority": terms.PRIORITY,
    "escalation": terms.ESCALATION,
    "role": terms.ROLE,
    "stage": terms.STAGE,
    "deadline": terms.DEADLINE,
}


def _crumbs(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's place as it was reported, district to grid, each with its name."""
    out = []
    for level in PLACE_LEVELS[1:]:
        code = row["grid_id"] if level == "grid" else row[f"{level}_code"]
        if code:
            out.append({"level": level, "code": code, "name": row[f"{level}_name"] or code})
    return out


@router.get("/case/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request, c: Case, period: Annotated[Period, Depends(period_param)]
) -> HTMLResponse:
    head = case.header(c.conn, c.projection, c.scope, c.case_id)
    row = head.rows[0]
    context = page_context(
        "cases",
        Unit("grid", row["grid_id"]),
        period,
        _crumbs(row),
        title=f"{row['title']} · 案件",
        crumb_page="/overview",
        case_id=c.case_id,
        case_qs=query(case_id=c.case_id),
    )
    return templates.TemplateResponse(request, "case.html", context)


# Each panel: its function (the one ``/api/v1/cases/{case_id}`` calls) and its template.
_PANELS = {
    "header": case.header,
    "trace": case.trace,
    "deadlines": case.deadlines,
    "rejections": case.rejections,
}


@router.get("/panels/case/{panel}", response_class=HTMLResponse)
def panel(
    request: Request,
    panel: Literal["header", "trace", "deadlines", "rejections"],
    c: Case,
) -> HTMLResponse:
    found = _PANELS[panel](c.conn, c.projection, c.scope, c.case_id)
    context = {
        "rows": found.rows,
        "fresh": freshness_of(found, c.position),
        "words": WORDS,
        "case_id": c.case_id,
    }
    return templates.TemplateResponse(request, f"panels/case_{panel}.html", context)
