"""A case's deadlines as the read model shows them, and what events do to them: scheduled,
warned and breached by the engine's events, settled (met or cancelled) when a step ends their
stage, paused and resumed with the case's clock. Which step does what is each event type's
``deadline_effect`` in ``domain.meanings``; this module is how each effect is applied.

Working hours come from the calendar versions recorded on the deadlines, never from "the
calendar now", so a calendar published later does not change an old answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.calendar import WorkCalendar, working_hours_between
from domain.copies import built, with_changes
from domain.errors import CalendarGap, CorruptStream, UnknownReference
from domain.reference_view import ReferenceView

__all__ = [
    "DeadlineRow",
    "WorkingTimeUnknown",
    "apply_signal",
    "deadline_status",
    "hours_between",
    "is_open",
    "paused",
    "resumed",
    "scheduled",
    "settled",
]


@dataclass(frozen=True)
class DeadlineRow:
    """One stage deadline as the read model shows it."""

    deadline_id: str
    case_id: str
    stage: str
    started_at: datetime
    due_time: datetime
    working_hours: int
    policy_id: str
    policy_version: int
    calendar_version: str
    department_code: str | None
    district_code: str | None
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    done_at: datetime | None = None
    cancelled: bool = False
    paused: bool = False
    lateness_hours: float | None = None  # working hours after the due time; < 0: time to spare
    urges: int = 0  # 催办 of this deadline (numbered per due time: the latest number)
    last_urged_at: datetime | None = None
    # open, warned, breached, paused, met or cancelled (``deadline_status`` of the fields
    # above), kept by ``fold_case`` whenever the deadline changes: a column to filter on
    status: str = "open"


def deadline_status(d: DeadlineRow) -> str:
    """open, warned, breached, paused, met or cancelled (DESIGN.md's SLA states); breached
    once its stage ended after the due time, or the trigger signalled it while it runs."""
    if d.cancelled:
        return "cancelled"
    if d.done_at is not None:
        return "met" if d.done_at <= d.due_time else "breached"
    if d.paused:
        return "paused"
    if d.breached_at is not None:
        return "breached"
    return "warned" if d.warned_at is not None else "open"


class WorkingTimeUnknown(CorruptStream):
    """A case's working hours cannot be counted: the calendar its deadlines recorded is not
    in the reference log, or no published year reaches the event. The record is dead-lettered
    with this reason; wall-clock hours would be a different, silently wrong number."""


def _calendar(deadlines: tuple[DeadlineRow, ...], ref: ReferenceView) -> WorkCalendar:
    """The calendar versions the case's deadlines recorded, other years as first published."""
    return ref.calendar_recorded(d.calendar_version for d in deadlines)


def hours_between(
    case_id: str, deadlines: tuple[DeadlineRow, ...], ref: ReferenceView, a: datetime, b: datetime
) -> float:
    """Working hours from ``a`` to ``b`` by the calendars ``deadlines`` recorded.

    Raises:
        WorkingTimeUnknown: no such calendar, or no published year reaches ``a`` or ``b``.
    """
    try:
        return working_hours_between(_calendar(deadlines, ref), a, b)
    except (CalendarGap, UnknownReference) as exc:
        raise WorkingTimeUnknown(
            f"case {case_id}: the working hours from {a.isoformat()} to {b.isoformat()} "
            f"cannot be counted: {exc}"
        ) from exc


def is_open(d: DeadlineRow) -> bool:
    """Neither met nor cancelled: its stage still runs."""
    return d.done_at is None and not d.cancelled


def settled(
    deadlines: tuple[DeadlineRow, ...], when: datetime, ref: ReferenceView, *, cancel: bool
) -> tuple[DeadlineRow, ...]:
    """The open deadlines met (their lateness counted) or cancelled at ``when``."""
    out = []
    for d in deadlines:
        if is_open(d):
            # Breached or not is settled by event time when the stage ends, whatever the
            # trigger signalled (late, or never, as in a backfill with the trigger off).
            breached = d.due_time if when > d.due_time else None
            if cancel:
                d = with_changes(d, cancelled=True, paused=False, breached_at=breached)
            else:
                late = (
                    hours_between(d.case_id, (d,), ref, d.due_time, when)
                    if when > d.due_time
                    else (-hours_between(d.case_id, (d,), ref, when, d.due_time))
                )
                d = with_changes(
                    d,
                    done_at=when,
                    paused=False,
                    breached_at=breached,
                    lateness_hours=round(late, 4),
                )
        out.append(d)
    return tuple(out)


def paused(deadlines: tuple[DeadlineRow, ...]) -> tuple[DeadlineRow, ...]:
    """The case's clock stopped: its open deadlines paused."""
    return tuple(with_changes(x, paused=is_open(x)) for x in deadlines)


def resumed(deadlines: tuple[DeadlineRow, ...]) -> tuple[DeadlineRow, ...]:
    """The case's clock runs again."""
    return tuple(with_changes(x, paused=False) for x in deadlines)


def scheduled(
    case_id: str,
    department_code: str | None,
    district_code: str | None,
    clock_stopped: bool,
    deadlines: tuple[DeadlineRow, ...],
    d: Mapping[str, Any],
) -> tuple[DeadlineRow, ...]:
    """The deadlines after a DeadlineScheduled (datum ``d``): a new one at the end, or an
    open one moved in its place."""
    found = next((x for x in deadlines if x.deadline_id == d["deadline_id"]), None)
    fields = {
        "stage": d["stage"],
        "started_at": d["started_at"],
        "due_time": d["due_time"],
        "working_hours": d["working_hours"],
        "policy_id": d["policy_id"],
        "policy_version": d["policy_version"],
        "calendar_version": d["calendar_version"],
    }
    if found is None:
        fresh = built(  # DeadlineRow(...), cheaper: one per deadline scheduled
            DeadlineRow,
            deadline_id=d["deadline_id"],
            case_id=case_id,
            department_code=department_code,
            district_code=district_code,
            paused=clock_stopped,
            **fields,
        )
        return (*deadlines, fresh)
    # Moved by an extension or a pause: kept in its place, so the order stays the order of
    # scheduling, which is also the order a restarted projector loads them in.
    moved = with_changes(found, **fields)
    if d["due_time"] > found.due_time:  # moved later: the old due time's flags are void
        moved = with_changes(moved, warned_at=None, breached_at=None)
    return tuple(moved if x is found else x for x in deadlines)


def apply_signal(
    case_id: str, deadlines: tuple[DeadlineRow, ...], kind: str, d: Mapping[str, Any]
) -> tuple[DeadlineRow, ...]:
    """The deadlines after a DeadlineWarned or DeadlineBreached (datum ``d``).

    Raises:
        CorruptStream: no deadline of the case has that id.
    """
    when: datetime = d["envelope"]["event_time"]
    found = next((x for x in deadlines if x.deadline_id == d["deadline_id"]), None)
    if found is None:
        raise CorruptStream(f"case {case_id}: {kind} for unknown deadline {d['deadline_id']}")
    # A breach happened at the due time it names, however late the trigger noticed it.
    flagged = (
        with_changes(found, warned_at=found.warned_at or when)
        if kind == "DeadlineWarned"
        else with_changes(found, breached_at=found.breached_at or d["due_time"])
    )
    return tuple(flagged if x is found else x for x in deadlines)
