"""Panel answers kept while the projection stands still.

The read models change only when the projector commits a batch, and every commit moves the
projection's position (its checkpoints, read by the app's ``Watch``). An answer computed at
one position is therefore the answer of every request until the position moves: a page's
panels, the same panel asked by several operators, and a panel's ``/api/v1`` twin share it
instead of reading the same rows again. The key holds the schema and the position, so a
promoted replay or the next batch is read afresh; the freshness line is still built per
request from the current position (a stalled projector turns stale without a new answer).

A panel whose answer depends on the wall clock (the overdue list's ``now``) must not be kept:
its callers do not use this module.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from projections.dashboard.watch import Position
from projections.reading import Answer

__all__ = ["Memo"]

A = TypeVar("A", bound=Answer)


class Memo:
    """At most ``size`` answers, the least recently used dropped first; thread-safe (the
    app serves requests from a thread pool)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: OrderedDict[Hashable, Answer] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def answer(self, position: Position, key: Hashable, compute: Callable[[], A]) -> A:
        """``compute()``'s answer, or the one kept for ``key`` at ``position``. Nothing is
        kept while the position is unknown (no schema yet, or the watch cannot read it), nor
        an answer read from another schema than the position's (a promotion in between)."""
        if position.schema is None or position.error is not None:
            return compute()
        full = (position.schema, position.position, key)
        with self._lock:
            kept = self._kept.get(full)
            if kept is not None:
                self._kept.move_to_end(full)
                self.hits += 1
                return kept  # type: ignore[return-value]
            self.misses += 1
        found = compute()
        if found.schema != position.schema:
            return found
        with self._lock:
            self._kept[full] = found
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return found
