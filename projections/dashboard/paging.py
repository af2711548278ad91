"""Pages of a long list: the ``limit`` and ``offset`` parameters every list panel shares, the
SQL of the page a query reads, and the total its rows carry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from projections.reading import Answer

__all__ = ["MAX_ROWS", "PAGE", "Limit", "Offset", "page_of", "page_params"]

MAX_ROWS = 500
"""The most rows one page holds, whoever asks (a route's ``Limit`` or a direct caller)."""

Limit = Annotated[int, Query(ge=1, le=MAX_ROWS, description=f"rows per page (at most {MAX_ROWS})")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="rows skipped")]

PAGE = "LIMIT %(limit)s OFFSET %(offset)s"
"""The page of an ordered query, with ``page_params``'s parameters."""


def page_params(limit: int, offset: int) -> dict[str, int]:
    """The parameters of ``PAGE``: ``limit`` rows at most ``MAX_ROWS``, from ``offset``."""
    return {"limit": min(limit, MAX_ROWS), "offset": offset}


def page_of(found: Answer, limit: int, offset: int) -> dict[str, Any]:
    """Where the rows are in the whole list: its ``total``, and the page's limit and offset."""
    total = int(found.rows[0]["total"]) if found.rows else 0
    return {"total": total, "limit": limit, "offset": offset}
