"""When a read of one Kafka partition up to a given end is done, due a report, or stalled.

A read that must reach an end offset (the reference log before a batch is folded, a partition
being exported) is complete only there: a slow broker or a loaded machine makes it take longer,
never makes it stop short. While it takes long it says how far it has got, and it has failed
only when its position stands still for ``STALL_S``. Pure: the caller reads the clock and the
consumer's position, and does the logging and the raising.
"""

from __future__ import annotations

__all__ = ["STALL_S", "ReadProgress"]

STALL_S = 120.0  # longer than a producer's transaction may stay open (60 s by default)


class ReadProgress:
    """A read from offset ``position`` towards ``end`` (exclusive), started at ``now``.

    Args:
        position: the next offset to read.
        end: the offset the read must reach.
        now: the monotonic clock, in seconds, when the read started.
        report_every_s: how long the read may go unreported while not complete.
        stall_s: how long the position may stand still before the read has stalled.
    """

    def __init__(
        self,
        position: int,
        end: int,
        now: float,
        *,
        report_every_s: float = float("inf"),
        stall_s: float = STALL_S,
    ) -> None:
        self.position = position
        self.end = end
        self.started = now
        self.reports = 0
        self._report_every_s = report_every_s
        self._stall_s = stall_s
        self._moved = now
        self._reported = now

    @property
    def complete(self) -> bool:
        """Whether the end has been reached."""
        return self.position >= self.end

    def reached(self, position: int, now: float) -> int:
        """Record the position read at ``now``; returns how many offsets it moved on."""
        moved = max(0, position - self.position)
        if moved:
            self.position = position
            self._moved = now
        return moved

    def stalled(self, now: float) -> bool:
        """Whether the read is not complete and has not moved for ``stall_s``."""
        return not self.complete and now - self._moved >= self._stall_s

    def report_due(self, now: float) -> bool:
        """Whether to say how far the read has got (and, if so, counts the report)."""
        if self.complete or now - self._reported < self._report_every_s:
            return False
        self._reported = now
        self.reports += 1
        return True
