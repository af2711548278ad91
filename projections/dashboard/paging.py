"""The ``limit`` and ``offset`` parameters every list route shares; the page itself is
``projections.panels.paging``'s."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from projections.panels.paging import MAX_ROWS

__all__ = ["Limit", "Offset"]

Limit = Annotated[int, Query(ge=1, le=MAX_ROWS, description=f"rows per page (at most {MAX_ROWS})")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="rows skipped")]
