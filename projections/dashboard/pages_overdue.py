"""The 超期 page: the overdue distribution per unit, the deadlines late now and those about to
expire; each panel calls the same panel query as its ``/api/v1/overdue/...`` twin."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from projections.dashboard.api_overdue import By, Hours, grouping, work_calendar
from projections.dashboard.deps import Panel
from projections.dashboard.pages import fragment, frame
from projections.dashboard.paging import Limit, Offset
from projections.panels import overdue
from projections.panels.lateness import BUCKETS
from projections.panels.paging import page_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/overdue", response_class=HTMLResponse)
def overdue_page(request: Request, p: Panel, hours: Hours = 24, by: By = None) -> HTMLResponse:
    """超期: what is late now, what is about to be, and how late the period's late ones were."""
    return frame(request, p, "overdue.html", "overdue", hours=hours, by=grouping(p, by))


@router.get("/panels/overdue/list", response_class=HTMLResponse)
def overdue_list(request: Request, p: Panel, limit: Limit = 50, offset: Offset = 0) -> HTMLResponse:
    now = datetime.now(UTC)
    found = overdue.overdue(
        p.conn, p.projection, p.scope, p.unit, now, work_calendar(), limit, offset
    )
    return fragment(request, p, "panels/overdue_list.html", found, **page_of(found, limit, offset))


@router.get("/panels/overdue/expiring", response_class=HTMLResponse)
def expiring(
    request: Request, p: Panel, hours: Hours = 24, limit: Limit = 50, offset: Offset = 0
) -> HTMLResponse:
    now = datetime.now(UTC)
    found = overdue.expiring(p.conn, p.projection, p.scope, p.unit, now, hours, limit, offset)
    page = page_of(found, limit, offset)
    return fragment(request, p, "panels/overdue_expiring.html", found, hours=hours, **page)


@router.get("/panels/overdue/distribution", response_class=HTMLResponse)
def distribution(request: Request, p: Panel, by: By = None) -> HTMLResponse:
    group = grouping(p, by)
    found = overdue.distribution(p.conn, p.projection, p.scope, p.unit, p.period, group)
    return fragment(
        request, p, "panels/overdue_distribution.html", found, by=group, buckets=BUCKETS
    )
