"""Pages of a long list: the most rows a page holds, the SQL of the page a query reads, and the
total its rows carry. The web layer's ``limit``/``offset`` parameters are
``projections.dashboard.paging``'s."""

from __future__ import annotations

from typing import Any

from projections.reading import Answer

__all__ = ["MAX_ROWS", "PAGE", "page_of", "page_params"]

MAX_ROWS = 500
"""The most rows one page holds, whoever asks (a route's ``Limit`` or a direct caller)."""

PAGE = "LIMIT %(limit)s OFFSET %(offset)s"
"""The page of an ordered query, with ``page_params``'s parameters."""


def page_params(limit: int, offset: int) -> dict[str, int]:
    """The parameters of ``PAGE``: ``limit`` rows at most ``MAX_ROWS``, from ``offset``."""
    return {"limit": min(limit, MAX_ROWS), "offset": offset}


def page_of(found: Answer, limit: int, offset: int) -> dict[str, Any]:
    """Where the rows are in the whole list: its ``total``, and the page's limit and offset."""
    total = int(found.rows[0]["total"]) if found.rows else 0
    return {"total": total, "limit": limit, "offset": offset}
