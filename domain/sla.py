"""SLA policy arithmetic: deadlines per stage in working time, pauses, extensions, lateness.

Deterministic by construction: every answer depends only on event times, the policy and the
calendar passed in (whose versions the ``Deadline`` records), never on the wall clock.
Stages: ``claim`` (dispatch → claim), ``handle`` (claim → resolve), ``verify`` (resolve →
verified).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from domain.calendar import WorkCalendar, add_working_hours, working_hours_between
from domain.errors import NoSlaLimit
from domain.ladder_policy import NO_LADDER, Ladder

__all__ = [
    "DEFAULT_VERIFY_DISTANCE_M",
    "Deadline",
    "SlaLimit",
    "SlaPolicy",
    "Stage",
    "extend_deadline",
    "lateness_working_hours",
    "schedule_deadline",
    "shift_deadline_for_pause",
    "shift_for_pause",
    "warn_time_for",
]


class Stage(StrEnum):
    """The SLA stages of a case."""

    CLAIM = "claim"
    HANDLE = "handle"
    VERIFY = "verify"


@dataclass(frozen=True)
class SlaLimit:
    """How many working hours a stage may take, how long before its end to warn, and the
    supervision ladder of a deadline that runs over (``domain.ladder``)."""

    working_hours: float
    warn_before_hours: float = 0.0
    ladder: Ladder = NO_LADDER

    def __post_init__(self) -> None:
        if self.working_hours <= 0 or self.warn_before_hours < 0:
            raise ValueError(
                f"an SLA limit needs working_hours > 0 and warn_before_hours >= 0, got {self}"
            )


DEFAULT_VERIFY_DISTANCE_M = 500
"""How far from the case a verification may be, for a policy that does not say (before v3)."""


@dataclass(frozen=True)
class SlaPolicy:
    """A versioned SLA policy: a limit per (stage, priority), and how far from the case's
    location a grid worker may verify it on site."""

    policy_id: str
    version: int
    limits: Mapping[tuple[str, str], SlaLimit]
    verify_distance_m: int = DEFAULT_VERIFY_DISTANCE_M

    def limit(self, stage: str, priority: str) -> SlaLimit:
        """The limit for ``stage`` and ``priority``; ``NoSlaLimit`` when the policy has none."""
        found = self.limits.get((str(stage), priority))
        if found is None:
            raise NoSlaLimit(self.policy_id, self.version, str(stage), priority)
        return found


@dataclass(frozen=True)
class Deadline:
    """When a stage is due, when to warn, and the versions that computed it.

    ``warn_time`` is ``None`` when the policy asks for no warning.
    """

    started_at: datetime
    due_time: datetime
    warn_time: datetime | None
    working_hours: float
    warn_before_hours: float
    policy_id: str
    policy_version: int
    calendar_version: str


def warn_time_for(
    calendar: WorkCalendar, due_time: datetime, working_hours: float, warn_before_hours: float
) -> datetime | None:
    """When to warn (预警): ``warn_before_hours`` working hours before the due time, never
    before the stage started; ``None`` when the policy asks for no warning."""
    if warn_before_hours <= 0:
        return None
    return add_working_hours(calendar, due_time, -min(warn_before_hours, working_hours))


def schedule_deadline(
    policy: SlaPolicy, calendar: WorkCalendar, stage: str, priority: str, started_at: datetime
) -> Deadline:
    """The deadline of ``stage`` for a case of ``priority`` whose stage began at ``started_at``.

    Raises ``NoSlaLimit`` when the policy does not cover the pair and ``CalendarGap`` when the
    calendar does not reach the due time.
    """
    limit = policy.limit(stage, priority)
    due = add_working_hours(calendar, started_at, limit.working_hours)
    return Deadline(
        started_at=started_at,
        due_time=due,
        warn_time=warn_time_for(calendar, due, limit.working_hours, limit.warn_before_hours),
        working_hours=limit.working_hours,
        warn_before_hours=limit.warn_before_hours,
        policy_id=policy.policy_id,
        policy_version=policy.version,
        calendar_version=calendar.version_for(started_at, due),
    )


def shift_for_pause(
    calendar: WorkCalendar, due_time: datetime, paused_at: datetime, resumed_at: datetime
) -> datetime:
    """``due_time`` moved later by the working hours between ``paused_at`` and ``resumed_at``."""
    return add_working_hours(
        calendar, due_time, max(0.0, working_hours_between(calendar, paused_at, resumed_at))
    )


def shift_deadline_for_pause(
    calendar: WorkCalendar, deadline: Deadline, paused_at: datetime, resumed_at: datetime
) -> Deadline:
    """The deadline with due and warn times moved by the working time spent suspended."""
    paused = max(0.0, working_hours_between(calendar, paused_at, resumed_at))
    due = add_working_hours(calendar, deadline.due_time, paused)
    warn = (
        None
        if deadline.warn_time is None
        else add_working_hours(calendar, deadline.warn_time, paused)
    )
    version = calendar.version_for(deadline.started_at, due)
    return replace(deadline, due_time=due, warn_time=warn, calendar_version=version)


def extend_deadline(calendar: WorkCalendar, deadline: Deadline, extra_hours: float) -> Deadline:
    """The deadline extended by ``extra_hours`` working hours (an approved 延期)."""
    if extra_hours <= 0:
        raise ValueError(f"an extension must add working hours, got {extra_hours}")
    due = add_working_hours(calendar, deadline.due_time, extra_hours)
    total = deadline.working_hours + extra_hours
    return replace(
        deadline,
        due_time=due,
        warn_time=warn_time_for(calendar, due, total, deadline.warn_before_hours),
        working_hours=total,
        calendar_version=calendar.version_for(deadline.started_at, due),
    )


def lateness_working_hours(calendar: WorkCalendar, due_time: datetime, done_at: datetime) -> float:
    """How late ``done_at`` is against ``due_time``, in working hours; negative = time to spare."""
    return working_hours_between(calendar, due_time, done_at)
