"""The state of one case and ``evolve``: applying a canonical event to it.

``TRANSITIONS`` is DESIGN.md's lifecycle table as data (each step's ``transition`` in
``domain.meanings``, as are the deadline effects ``evolve`` applies); ``decide`` checks
submissions against it and ``evolve`` trusts the canonical log but refuses a stream the table cannot explain, so a
corrupt log fails loudly instead of folding into a wrong state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from domain.copies import with_changes
from domain.errors import CorruptStream
from domain.meaning_types import DeadlineEffect
from domain.meanings import CASE_MEANINGS, TRANSITIONS
from domain.status import OPEN_STATUSES, PAUSED_STATUSES, DeadlineStatus, Status
from events.models import (
    DERIVED_EVENT_TYPES,
    CaseAccepted,
    CaseDispatched,
    CaseEscalated,
    CaseEvent,
    CaseNoticed,
    CaseReported,
    CaseSupervised,
    CaseTransferred,
    CaseUrged,
    CaseVerified,
    DeadlineBreached,
    DeadlineScheduled,
    DeadlineWarned,
    EscalationLevel,
    HandoffRequested,
    HandoffRuled,
    SupervisionLevel,
)

__all__ = [
    "OPEN_STATUSES",
    "PAUSED_STATUSES",
    "TRANSITIONS",
    "CaseState",
    "CorruptStream",
    "DeadlineState",
    "DeadlineStatus",
    "Status",
    "evolve",
    "next_status",
    "target_status",
    "verdict",
]

S = Status


@dataclass(frozen=True)
class DeadlineState:
    """One stage deadline of the case, as the last DeadlineScheduled of its id set it."""

    deadline_id: str
    stage: str
    priority: str
    started_at: datetime
    due_time: datetime
    working_hours: int
    policy_id: str
    policy_version: int
    calendar_version: str
    status: DeadlineStatus = DeadlineStatus.open
    warned: bool = False
    breached: bool = False
    urges: int = 0  # 催办 sent for this due time


@dataclass(frozen=True)
class CaseState:
    """Everything ``decide`` needs to know about a case. Never mutated: ``evolve`` copies."""

    case_id: str
    status: Status
    sequence: int
    status_since: datetime  # event time of the step into the current status (or department)
    category: str
    priority: str
    grid_id: str
    level: EscalationLevel = EscalationLevel.street
    department: str | None = None
    seen: Mapping[str, int] = field(default_factory=dict)  # event id -> sequence
    deadlines: tuple[DeadlineState, ...] = ()
    suspended_at: datetime | None = None  # when the clock stopped (suspended or parked)
    supervision: SupervisionLevel | None = None  # 督办: who supervises it, once overdue
    noticed_period: str | None = None  # the latest month whose 通报 listed it
    hand_offs: int = 0
    handoff_pending: str | None = None  # 推诿: the event id of the request awaiting a ruling
    returns: int = 0
    reworks: int = 0
    evaluated: bool = False
    recorded_until: datetime | None = None  # the latest recording time on the case's stream
    location: tuple[float, float] | None = None  # (lat, lon) where it was reported, if given

    def deadline(self, deadline_id: str) -> DeadlineState | None:
        """The deadline with that id, open or settled."""
        return next((d for d in self.deadlines if d.deadline_id == deadline_id), None)

    def open_deadline(self) -> DeadlineState | None:
        """The deadline of the stage the case is in, if any."""
        return next((d for d in self.deadlines if d.status is DeadlineStatus.open), None)


def next_status(status: Status, event_type: str, passed: bool = True) -> Status | None:
    """Where an event of ``event_type`` takes a case in ``status`` (``passed``: a
    verification's verdict, or whether a hand-off ruling upheld the request), or ``None`` when
    the table has no such transition."""
    if event_type in DERIVED_EVENT_TYPES:
        return status
    target = TRANSITIONS.get(event_type, {}).get(status)
    if target is S.verified and event_type == "CaseVerified" and not passed:
        return S.in_progress
    if target is not None and event_type == "HandoffRuled" and passed:
        return S.dispatched  # upheld: re-dispatched to the department that owns it
    return target


def verdict(event_type: str, datum: Mapping[str, object]) -> bool:
    """The ``passed`` of ``next_status`` from an event's Avro datum: a verification's verdict,
    a hand-off ruling's ``upheld``; True for any other event."""
    if event_type == "HandoffRuled":
        return bool(datum["upheld"])
    return bool(datum.get("passed", True))


def target_status(state: CaseState, event: CaseEvent) -> Status | None:
    """Where ``event`` takes the case, or ``None`` when the table has no such transition."""
    passed = True
    if isinstance(event, CaseVerified):
        passed = event.passed
    elif isinstance(event, HandoffRuled):
        passed = event.upheld
    return next_status(state.status, event.event_type, passed)


def _settle(state: CaseState, outcome: DeadlineStatus) -> tuple[DeadlineState, ...]:
    return tuple(
        with_changes(d, status=outcome) if d.status is DeadlineStatus.open else d
        for d in state.deadlines
    )


def _with_deadline(state: CaseState, event: DeadlineScheduled) -> tuple[DeadlineState, ...]:
    previous = state.deadline(event.deadline_id)
    # Moved later (an extension, a pause): the flags of the old due time no longer hold, and
    # the new one is warned and breached in its turn.
    kept = previous is not None and event.due_time <= previous.due_time
    fresh = DeadlineState(
        deadline_id=event.deadline_id,
        stage=str(event.stage),
        priority=previous.priority if previous else state.priority,
        started_at=event.started_at,
        due_time=event.due_time,
        working_hours=event.working_hours,
        policy_id=event.policy_id,
        policy_version=event.policy_version,
        calendar_version=event.calendar_version,
        warned=kept and previous is not None and previous.warned,
        breached=kept and previous is not None and previous.breached,
        # the urges count against one due time: a deadline moved starts its urging afresh
        urges=previous.urges if previous and previous.due_time == event.due_time else 0,
    )
    others = tuple(d for d in state.deadlines if d.deadline_id != event.deadline_id)
    return (*others, fresh)


def _signalled(
    state: CaseState, event: DeadlineWarned | DeadlineBreached
) -> tuple[DeadlineState, ...]:
    def flagged(d: DeadlineState) -> DeadlineState:
        if isinstance(event, DeadlineWarned):
            return with_changes(d, warned=True)
        return with_changes(d, breached=True)

    return tuple(flagged(d) if d.deadline_id == event.deadline_id else d for d in state.deadlines)


def _climbed(state: CaseState, event: CaseUrged | CaseSupervised | CaseNoticed) -> CaseState:
    """The case one step up its supervision ladder (催办, 督办 or 通报)."""
    if isinstance(event, CaseUrged):
        urged = tuple(
            with_changes(d, urges=event.urge_number) if d.deadline_id == event.deadline_id else d
            for d in state.deadlines
        )
        return with_changes(state, deadlines=urged)
    if isinstance(event, CaseSupervised):
        return with_changes(state, supervision=event.level)
    return with_changes(state, noticed_period=event.period)


def _start(event: CaseReported, sequence: int) -> CaseState:
    return CaseState(
        case_id=event.case_id,
        status=S.reported,
        sequence=sequence,
        status_since=event.envelope.event_time,
        category=event.category_code,
        priority=str(event.priority),
        grid_id=event.grid_id,
        seen={event.envelope.event_id: sequence},
        recorded_until=event.envelope.recorded_time,
        location=(event.location.lat, event.location.lon) if event.location else None,
    )


def evolve(state: CaseState | None, event: CaseEvent) -> CaseState:
    """The case after the canonical ``event``; raises ``CorruptStream`` if it cannot follow."""
    sequence = event.envelope.sequence
    if sequence is None:
        raise CorruptStream(f"{event.event_type} {event.envelope.event_id} has no sequence")
    if state is None or isinstance(event, CaseReported):
        if state is not None or not isinstance(event, CaseReported):
            raise CorruptStream(f"case {event.case_id}: {event.event_type} cannot start a case")
        return _start(event, sequence)
    target = target_status(state, event)
    if target is None or event.case_id != state.case_id or sequence != state.sequence + 1:
        raise CorruptStream(
            f"case {state.case_id} ({state.status}, sequence {state.sequence}) cannot take "
            f"{event.event_type} {event.envelope.event_id} of case {event.case_id} at {sequence}"
        )
    seen = dict(state.seen)
    seen[event.envelope.event_id] = sequence
    moved = (
        target is not state.status
        or isinstance(event, CaseTransferred)
        or (isinstance(event, HandoffRuled) and event.upheld)
    )
    since = event.envelope.event_time if moved else state.status_since
    recorded = event.envelope.recorded_time
    if state.recorded_until is not None and state.recorded_until > recorded:
        recorded = state.recorded_until
    new = with_changes(
        state,
        status=target,
        sequence=sequence,
        seen=seen,
        status_since=since,
        recorded_until=recorded,
    )
    return _apply_fields(new, state, event)


_SETTLES = {
    DeadlineEffect.met: DeadlineStatus.met,
    DeadlineEffect.cancelled: DeadlineStatus.cancelled,
}


def _apply_fields(new: CaseState, old: CaseState, event: CaseEvent) -> CaseState:
    kind = event.event_type
    if isinstance(event, DeadlineScheduled):
        return with_changes(new, deadlines=_with_deadline(old, event))
    if isinstance(event, DeadlineWarned | DeadlineBreached):
        return with_changes(new, deadlines=_signalled(old, event))
    if isinstance(event, CaseUrged | CaseSupervised | CaseNoticed):
        return _climbed(new, event)
    effect = CASE_MEANINGS[kind].deadline_effect
    if effect is DeadlineEffect.cancelled_if_upheld and isinstance(event, HandoffRuled):
        effect = DeadlineEffect.cancelled if event.upheld else DeadlineEffect.none
    if effect in _SETTLES:
        new = with_changes(new, deadlines=_settle(old, _SETTLES[effect]))
    elif effect is DeadlineEffect.paused:
        new = with_changes(new, suspended_at=event.envelope.event_time)
    elif effect is DeadlineEffect.resumed:
        new = with_changes(new, suspended_at=None)
    if isinstance(event, CaseAccepted):
        return with_changes(
            new,
            category=event.category_code or old.category,
            priority=str(event.priority) if event.priority else old.priority,
        )
    if isinstance(event, CaseDispatched):
        return with_changes(new, department=event.department_code)
    if isinstance(event, CaseTransferred):
        return with_changes(new, department=event.to_department, hand_offs=old.hand_offs + 1)
    if isinstance(event, HandoffRequested):
        return with_changes(new, handoff_pending=event.envelope.event_id)
    if isinstance(event, HandoffRuled):
        if not event.upheld:
            return with_changes(new, handoff_pending=None)
        return with_changes(
            new,
            handoff_pending=None,
            department=event.department_code,
            hand_offs=old.hand_offs + 1,
        )
    if isinstance(event, CaseEscalated):
        return with_changes(new, level=event.to_level)
    if isinstance(event, CaseVerified) and not event.passed:
        return with_changes(new, reworks=old.reworks + 1)
    if kind == "CaseReturned":
        return with_changes(new, department=None, returns=old.returns + 1)
    if kind == "CaseReopened":
        return with_changes(new, reworks=old.reworks + 1, evaluated=False)
    if kind == "CaseEvaluated":
        return with_changes(new, evaluated=True)
    return new
