"""Noticing a worker whose transactions stopped committing.

A worker can go on deciding records while none of its transactions commits (faust's commit
waits on a transaction that never ends): its outputs stay invisible to every reader and its
partitions are held. ``CommitWatch`` tells, from the offsets the agents have handled and the
offsets faust has committed, which partitions have had a handled record waiting while their
committed offset stood still for longer than a limit. The worker then ends uncommitted and its
supervisor starts it again. Pure: the caller passes the offsets and the time.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Generic, TypeVar

__all__ = ["CommitWatch"]

P = TypeVar("P", bound=Hashable)


class CommitWatch(Generic[P]):
    """Which partitions have stopped committing.

    Args:
        limit_s: how long a committed offset may stand still behind a handled record.
    """

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self._still: dict[P, tuple[int | None, float]] = {}  # committed offset, seen since

    def stalled(
        self, handled: Mapping[P, int], committed: Mapping[P, int | None], now: float
    ) -> list[P]:
        """The partitions whose last handled offset has been ahead of a committed offset that
        has not moved for more than ``limit_s`` seconds, as of ``now``."""
        found = []
        for partition, offset in handled.items():
            done = committed.get(partition)
            if done is not None and done >= offset:
                self._still.pop(partition, None)  # caught up
                continue
            seen = self._still.get(partition)
            if seen is None or seen[0] != done:
                self._still[partition] = (done, now)  # behind, but moving: start over
            elif now - seen[1] > self.limit_s:
                found.append(partition)
        for partition in [p for p in self._still if p not in handled]:
            del self._still[partition]
        return found
