"""Pages of a long list: the ``limit`` and ``offset`` parameters every list panel shares, and
the total its rows carry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from projections.reading import Answer

__all__ = ["Limit", "Offset", "page_of"]

Limit = Annotated[int, Query(ge=1, le=500, description="rows per page (at most 500)")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="rows skipped")]


def page_of(found: Answer, limit: int, offset: int) -> dict[str, Any]:
    """Where the rows are in the whole list: its ``total``, and the page's limit and offset."""
    total = int(found.rows[0]["total"]) if found.rows else 0
    return {"total": total, "limit": limit, "offset": offset}
