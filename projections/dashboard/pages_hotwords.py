"""The 热词 page: the quarter's word cloud and ranked list beside the quarter before's; each
panel calls the same panel query as ``/api/v1/hotwords``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from projections.dashboard.api_hotwords import Previous, Words, in_quarter
from projections.dashboard.deps import Panel
from projections.dashboard.pages import fragment, frame
from projections.panels import hotwords
from projections.panels.words import lexicons_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/hotwords", response_class=HTMLResponse)
def hotwords_page(request: Request, p: Panel, k: Words = 50) -> HTMLResponse:
    """热词: the period asked for is widened to its quarter, and the page says which."""
    return frame(request, in_quarter(p), "hotwords.html", "hotwords", k=k)


@router.get("/panels/hotwords", response_class=HTMLResponse)
def words(request: Request, p: Panel, k: Words = 50, previous: Previous = False) -> HTMLResponse:
    q = in_quarter(p, previous)
    found = hotwords.words(q.conn, q.projection, q.scope, q.unit, q.period, k)
    return fragment(
        request,
        q,
        "panels/hotwords.html",
        found,
        previous=previous,
        lexicons=lexicons_of(found.rows),
    )
