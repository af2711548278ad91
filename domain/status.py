"""Where a case is in its closed loop, and where one of its deadlines is: the two status
vocabularies every other module of the domain speaks, kept apart from what moves them."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OPEN_STATUSES", "PAUSED_STATUSES", "DeadlineStatus", "Status"]


class Status(StrEnum):
    """Where a case is in its closed loop."""

    reported = "reported"
    accepted = "accepted"
    rejected = "rejected"
    dispatched = "dispatched"
    in_progress = "in_progress"
    suspended = "suspended"
    parked = "parked"  # 挂账/缓办: on the backlog, its clock stopped
    resolved = "resolved"
    verified = "verified"
    closed = "closed"


OPEN_STATUSES = frozenset(set(Status) - {Status.rejected, Status.closed})
PAUSED_STATUSES = frozenset({Status.suspended, Status.parked})
"""Statuses in which a case's clock stands still: no deadline signal is due."""


class DeadlineStatus(StrEnum):
    """A deadline is open until its stage ends (met) or the case leaves the stage (cancelled)."""

    open = "open"
    met = "met"
    cancelled = "cancelled"
