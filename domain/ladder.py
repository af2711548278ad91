"""The supervision ladder past the breach (催办 → 督办 → 通报): which steps are due for a case,
and whether a submitted step is the one the log and the policy call for.

Every step is a pure function of the deadline (its due time, policy and calendar versions)
and of what the case already took, never of the clock that noticed it:

- urge (催办) number n of a deadline is due ``n × urge_every_hours`` working hours after its
  due time, while the deadline stays open and breached, up to ``max_urges`` (0: no limit);
- supervision (督办) by the street (district) is due ``street_after_hours``
  (``district_after_hours``) working hours after the due time; its supervision deadline is
  ``supervision_hours`` working hours after that;
- the notice (通报) of a month is due at the month's close (00:00 Asia/Shanghai of the next
  month) for a case whose deadline was due before that close and is still open and breached.

Each step's event time is that instant, and its event id is derived from the deadline, the
step and the due time, so a trigger that sends it twice, or a replay, adds nothing.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, NamedTuple

from domain.calendar import SHANGHAI, WorkCalendar, add_working_hours, local_date
from domain.case_state import (
    PAUSED_STATUSES,
    CaseState,
    DeadlineState,
    DeadlineStatus,
)
from domain.decisions import Accepted, Decision, Rejected, stamp
from domain.decisions import RejectionCode as Code
from domain.errors import UnknownReference
from domain.ladder_policy import NO_LADDER, Ladder
from domain.reference_view import ReferenceView
from events.models import (
    Actor,
    ActorRole,
    CaseNoticed,
    CaseSupervised,
    CaseUrged,
    Envelope,
    Stage,
    SupervisionLevel,
)

__all__ = [
    "LADDER_SOURCE_SYSTEM",
    "LadderStep",
    "LadderSubmission",
    "decide_ladder",
    "due_steps",
    "ladder_of_deadline",
    "month_close",
    "month_closes_between",
    "step_submission",
]

LADDER_SOURCE_SYSTEM = "fengqiao-sla-trigger"
_STEP_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:fengqiao:ladder-step")
_LEVELS = (SupervisionLevel.street, SupervisionLevel.district)

LadderSubmission = CaseUrged | CaseSupervised | CaseNoticed


class LadderStep(NamedTuple):
    """A step of the ladder that is due: its kind, its deadline and the instant it became due
    (its event time); ``number`` for an urge, ``level`` and ``supervision_due`` for a
    supervision, ``period`` and the supervision ``level`` at the close for a notice."""

    kind: str  # CaseUrged, CaseSupervised or CaseNoticed
    deadline_id: str
    stage: str
    due_time: datetime
    at: datetime
    number: int = 0
    level: str | None = None
    supervision_due: datetime | None = None
    period: str | None = None


def month_close(period: str) -> datetime:
    """The close of month ``period`` (``2025-06``): 00:00 Asia/Shanghai of the next month."""
    year, month = (int(part) for part in period.split("-"))
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return datetime(year, month, 1, tzinfo=SHANGHAI)


def _period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_closes_between(after: datetime, until: datetime) -> list[tuple[str, datetime]]:
    """The months whose close is in (``after``, ``until``], as (period, close), in order."""
    period = _period_of(local_date(after))
    closes = []
    while (close := month_close(period)) <= until:
        if close > after:
            closes.append((period, close))
        period = _period_of(close.date())
    return closes


def ladder_of_deadline(d: DeadlineState, ref: ReferenceView) -> Ladder:
    """The ladder of ``d`` in the policy version it recorded (``NO_LADDER`` when the policy has
    no limit for its stage). Raises ``UnknownReference`` when that version is not known."""
    policy = ref.sla_policy_version(d.policy_id, d.policy_version)
    if policy is None:
        raise UnknownReference("SLA policy", f"{d.policy_id} v{d.policy_version}")
    limit = policy.limits.get((d.stage, d.priority))
    return NO_LADDER if limit is None else limit.ladder


def _overdue(state: CaseState) -> DeadlineState | None:
    """The open, breached deadline of a case whose clock runs, if any."""
    if state.status in PAUSED_STATUSES:
        return None
    return next(
        (d for d in state.deadlines if d.status is DeadlineStatus.open and d.breached), None
    )


def _steps(
    state: CaseState, d: DeadlineState, ladder: Ladder, cal: WorkCalendar, now: datetime
) -> list[LadderStep]:
    def step(kind: str, at: datetime, **kw: Any) -> LadderStep:
        return LadderStep(kind, d.deadline_id, d.stage, d.due_time, at, **kw)

    steps: list[LadderStep] = []
    if ladder.urge_every_hours:
        n = d.urges + 1
        limit = ladder.max_urges or None
        while (limit is None or n <= limit) and (
            at := add_working_hours(cal, d.due_time, n * ladder.urge_every_hours)
        ) <= now:
            steps.append(step("CaseUrged", at, number=n))
            n += 1
    above = 0 if state.supervision is None else _LEVELS.index(state.supervision) + 1
    for level in _LEVELS[above:]:
        after = ladder.supervision_after(level)
        if not after:
            continue
        at = add_working_hours(cal, d.due_time, after)
        if at > now:
            break
        due = add_working_hours(cal, at, ladder.supervision_hours)
        steps.append(step("CaseSupervised", at, level=str(level), supervision_due=due))
    if ladder.monthly_notice:
        for period, close in month_closes_between(d.due_time, now):
            if state.noticed_period is None or period > state.noticed_period:
                # the supervision at the close: the case's, or a step due before the close
                # (decided before the notice, in the order the steps became due)
                levels = [s.level for s in steps if s.kind == "CaseSupervised" and s.at <= close]
                at_close = levels[-1] if levels else state.supervision
                steps.append(step("CaseNoticed", close, period=period, level=at_close))
    return sorted(steps, key=lambda s: s.at)


def due_steps(state: CaseState, now: datetime, ref: ReferenceView) -> list[LadderStep]:
    """The ladder steps due at ``now`` (the trigger's clock, passed in) for the case's open,
    breached deadline, in the order they became due; none while its clock is paused.

    Raises ``UnknownReference`` (the deadline's policy version) or ``CalendarGap``.
    """
    d = _overdue(state)
    if d is None:
        return []
    ladder = ladder_of_deadline(d, ref)
    if ladder == NO_LADDER:
        return []
    return _steps(state, d, ladder, ref.calendar_for(d.calendar_version), now)


def step_submission(state: CaseState, step: LadderStep) -> LadderSubmission:
    """The submission of ``step`` for the case as it stands (its department): event time the instant it became due, event id derived from the deadline,
    the step and the due time (a resubmission is a duplicate)."""
    what = {"CaseUrged": step.number, "CaseSupervised": step.level}.get(step.kind, step.period)
    key = f"{step.deadline_id}/{step.kind}/{what}/{step.due_time.isoformat()}"
    envelope = Envelope(
        event_id=str(uuid.uuid5(_STEP_NAMESPACE, key)),
        event_time=step.at,
        recorded_time=step.at,
        source_system=LADDER_SOURCE_SYSTEM,
        actor=Actor(id=LADDER_SOURCE_SYSTEM, role=ActorRole.system),
    )
    common: dict[str, Any] = {
        "envelope": envelope,
        "case_id": state.case_id,
        "deadline_id": step.deadline_id,
        "stage": Stage(step.stage),
        "due_time": step.due_time,
        "department_code": state.department,
    }
    if step.kind == "CaseUrged":
        return CaseUrged(**common, urge_number=step.number)
    if step.kind == "CaseSupervised":
        assert step.level is not None and step.supervision_due is not None
        return CaseSupervised(
            **common,
            level=SupervisionLevel(step.level),
            supervision_due_time=step.supervision_due,
        )
    assert step.period is not None
    level = None if step.level is None else SupervisionLevel(step.level)
    return CaseNoticed(**common, period=step.period, supervision_level=level)


def decide_ladder(state: CaseState, event: LadderSubmission, ref: ReferenceView) -> Decision:
    """Accept a ladder step only if it is the next the log and the policy call for, at the
    instant they call for it; a case that moved on refuses it (STALE_DEADLINE)."""
    case = f"case {state.case_id} is {state.status}"
    d = state.deadline(event.deadline_id)
    if d is None:
        return Rejected(Code.UNKNOWN_DEADLINE, f"{case} and has no deadline {event.deadline_id}")
    if d.stage != event.stage or d.status is not DeadlineStatus.open:
        return Rejected(
            Code.STALE_DEADLINE,
            f"{case}: deadline {d.deadline_id} ({d.stage}) is {d.status}",
        )
    if state.status in PAUSED_STATUSES:
        return Rejected(Code.DEADLINE_PAUSED, f"{case}: its clock is paused until it goes on")
    if event.due_time != d.due_time or event.department_code != state.department:
        return Rejected(
            Code.STALE_DEADLINE,
            f"{case}: deadline {d.deadline_id} is now due {d.due_time.isoformat()} "
            f"with {state.department}, not {event.due_time.isoformat()} "
            f"with {event.department_code}",
        )
    if not d.breached:
        return Rejected(
            Code.DEADLINE_NOT_DUE, f"{case}: deadline {d.deadline_id} has not been breached"
        )
    try:
        ladder = ladder_of_deadline(d, ref)
        calendar = ref.calendar_for(d.calendar_version)
        expected = _steps(state, d, ladder, calendar, event.envelope.event_time)
    except UnknownReference as exc:
        return Rejected(Code.UNKNOWN_SLA_POLICY, f"{case}: {exc}")
    mine = [s for s in expected if s.kind == event.event_type]
    if not mine:
        return _refused(state, d, ladder, event, case)
    want = mine[0]
    got = step_submission(state, want)
    if (
        got.model_dump(exclude={"envelope"}) != event.model_dump(exclude={"envelope"})
        or want.at != event.envelope.event_time
    ):
        return Rejected(
            Code.LADDER_STEP_MISMATCH,
            f"{case}: the next {event.event_type} of deadline {d.deadline_id} is "
            f"{_describe(want)} at {want.at.isoformat()}, not "
            f"{_describe_event(event)} at {event.envelope.event_time.isoformat()}",
        )
    return Accepted((stamp(event, state.sequence + 1),))


def _refused(
    state: CaseState, d: DeadlineState, ladder: Ladder, event: LadderSubmission, case: str
) -> Rejected:
    """Why no step of the event's kind is due: the policy has none, or it was taken."""
    if isinstance(event, CaseUrged):
        configured, taken = bool(ladder.urge_every_hours), event.urge_number <= d.urges
    elif isinstance(event, CaseSupervised):
        level = _LEVELS.index(event.level) + 1
        configured = bool(ladder.supervision_after(event.level))
        taken = state.supervision is not None and _LEVELS.index(state.supervision) + 1 >= level
    else:
        configured = ladder.monthly_notice
        taken = state.noticed_period is not None and event.period <= state.noticed_period
    if not configured:
        return Rejected(
            Code.NO_LADDER_STEP,
            f"{case}: policy {d.policy_id} v{d.policy_version} has no "
            f"{event.event_type} on {d.stage}",
        )
    if taken:
        return Rejected(
            Code.DUPLICATE_DEADLINE_SIGNAL,
            f"{case}: {_describe_event(event)} of deadline {d.deadline_id} was already taken",
        )
    return Rejected(
        Code.DEADLINE_NOT_DUE,
        f"{case}: {_describe_event(event)} of deadline {d.deadline_id} is not due at "
        f"{event.envelope.event_time.isoformat()}",
    )


def _describe(step: LadderStep) -> str:
    if step.kind == "CaseUrged":
        return f"urge {step.number}"
    if step.kind == "CaseSupervised":
        return f"supervision by the {step.level} until {step.supervision_due}"
    return f"the notice of {step.period}"


def _describe_event(event: LadderSubmission) -> str:
    if isinstance(event, CaseUrged):
        return f"urge {event.urge_number}"
    if isinstance(event, CaseSupervised):
        return f"supervision by the {event.level} until {event.supervision_due_time}"
    return f"the notice of {event.period}"
