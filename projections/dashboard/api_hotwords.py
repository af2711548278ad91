"""热词 over JSON (``/api/v1/hotwords``): a quarter's report words, from the same panel query
as the page; the period asked for is widened to its quarter."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from events.problems import problem_responses
from projections.dashboard.api import out
from projections.dashboard.deps import Panel, PanelArgs
from projections.dashboard.shapes import PanelOut
from projections.panels import hotwords
from projections.panels.words import lexicons_of, quarter_of

__all__ = ["Previous", "Words", "in_quarter", "router"]

router = APIRouter(prefix="/api/v1", responses=problem_responses(403, 404, 422, 503))

Previous = Annotated[bool, Query(description="the list of the quarter before instead")]
Words = Annotated[int, Query(ge=1, le=hotwords.MAX_WORDS, description="how many words")]


class WordRow(BaseModel):
    rank: int = Field(description="its place: count down, ties by the word")
    word: str
    count: int
    lexicons: list[str] = Field(description="the lexicon versions the count was made with")
    previous_rank: int | None
    previous_count: int | None
    change: str = Field(description="new, up, down or same, against the quarter before")


def in_quarter(p: PanelArgs, previous: bool = False) -> PanelArgs:
    """The panel's arguments with the period widened to the quarter holding it (or, with
    ``previous``, the quarter before that one)."""
    quarter = quarter_of(p.period)
    return dataclasses.replace(p, period=quarter.previous() if previous else quarter)


@router.get("/hotwords", summary="热词排行: the quarter's words, with their change")
def words(p: Panel, k: Words = 50, previous: Previous = False) -> PanelOut[WordRow]:
    q = in_quarter(p, previous)
    found = q.remember(
        "hotwords", lambda: hotwords.words(q.conn, q.projection, q.scope, q.unit, q.period, k), k
    )
    extra = {"quarter": q.period.label, "lexicons": lexicons_of(found.rows)}
    return out("hotwords", q, found, extra)
