"""The case state machine: ``decide`` a submission against the case, and what the SLA trigger
should submit now (``due_signals``).

``decide(state, submission, ref)`` answers ``Duplicate`` for an event id the case already has,
``Rejected`` with a code and a sentence, or ``Accepted`` with the canonical events to append:
the submission stamped with the next sequence, then the DeadlineScheduled it causes, with
deterministic ids. Folding those events with ``evolve`` gives the next state.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from domain.calendar import local_date
from domain.case_rules import Plan, check_report
from domain.case_state import (
    PAUSED_STATUSES,
    TRANSITIONS,
    CaseState,
    DeadlineState,
    DeadlineStatus,
    target_status,
)
from domain.copies import model_with
from domain.decisions import (
    Accepted,
    Decision,
    Duplicate,
    Rejected,
    deadline_id,
    derived_envelope,
    recorded_before_event,
    stamp,
)
from domain.decisions import RejectionCode as Code
from domain.errors import CalendarGap, UnknownReference
from domain.handoff import awaiting_ruling
from domain.ladder import LadderSubmission, decide_ladder
from domain.meanings import step_rule
from domain.parties import refused_sender
from domain.reference_view import ReferenceView
from domain.sla import warn_time_for
from events.models import (
    Actor,
    ActorRole,
    CaseEvent,
    CaseReported,
    DeadlineBreached,
    DeadlineScheduled,
    DeadlineWarned,
    Envelope,
    Event,
    Stage,
)

__all__ = ["DueSignal", "decide", "due_signals", "signal_submission", "warn_time_of"]

TRIGGER_SOURCE_SYSTEM = "fengqiao-sla-trigger"
_SIGNAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:fengqiao:deadline-signal")


def decide(state: CaseState | None, submission: Event, ref: ReferenceView) -> Decision:
    """Accept, reject or recognise as a duplicate one case submission."""
    if not isinstance(submission, CaseEvent):
        return Rejected(
            Code.WRONG_STREAM,
            f"{submission.event_type} "
            f"{submission.envelope.event_id} is a {submission.stream} event; "
            "submit it to the inbox of its own stream",
        )
    env = submission.envelope
    if state is not None and env.event_id in state.seen:
        return Duplicate(state.seen[env.event_id])
    case = (
        f"case {submission.case_id} does not exist yet"
        if state is None
        else f"case {state.case_id} is {state.status}"
    )
    if env.sequence is not None:
        return Rejected(
            Code.SEQUENCE_SET_BY_SUBMITTER,
            f"{case}; {submission.event_type} "
            f"{env.event_id} carries sequence {env.sequence}, but the workflow "
            "assigns it: submit with sequence null",
        )
    refused = recorded_before_event(submission)
    if refused is not None:
        return Rejected(refused.code, f"{case}; {refused.message}")
    signal = isinstance(submission, DeadlineWarned | DeadlineBreached | LadderSubmission)
    if isinstance(submission, DeadlineScheduled) or (signal and env.actor.role != "system"):
        return Rejected(
            Code.DERIVED_EVENT_FROM_OUTSIDE,
            f"{case}; {submission.event_type} is "
            "derived by the engine (deadline signals come only from its system "
            f"trigger), not accepted from {env.actor.role} {env.actor.id}",
        )
    if state is None:
        if not isinstance(submission, CaseReported):
            return Rejected(
                Code.UNKNOWN_CASE,
                f"case {submission.case_id} does not exist; "
                f"a case starts with CaseReported, not {submission.event_type}",
            )
        return check_report(submission, ref) or Accepted((stamp(submission, 1),))
    if isinstance(submission, CaseReported):
        return Rejected(
            Code.CASE_EXISTS,
            f"case {state.case_id} already exists "
            f"({state.status}); report a new problem under a new case id",
        )
    submission = _in_recording_order(state, submission)
    if isinstance(submission, DeadlineWarned | DeadlineBreached):
        return _decide_signal(state, submission, ref)
    if isinstance(submission, LadderSubmission):
        return decide_ladder(state, submission, ref)
    return _decide_step(state, submission, ref)


def _in_recording_order(state: CaseState, submission: CaseEvent) -> CaseEvent:
    """The submission recorded no earlier than the case's last step: its recording times
    never go backwards, so the case as known at any instant is a prefix of its stream."""
    env = submission.envelope
    if state.recorded_until is None or env.recorded_time >= state.recorded_until:
        return submission
    return model_with(submission, envelope=model_with(env, recorded_time=state.recorded_until))


def _decide_step(state: CaseState, event: CaseEvent, ref: ReferenceView) -> Decision:
    if target_status(state, event) is None:
        allowed = ", ".join(TRANSITIONS.get(event.event_type, {})) or "never"
        return Rejected(
            Code.INVALID_TRANSITION,
            f"case {state.case_id} is {state.status}; "
            f"{event.event_type} is accepted only when it is: {allowed}",
        )
    if event.envelope.event_time < state.status_since:
        return Rejected(
            Code.EVENT_TIME_BEFORE_STATUS,
            f"case {state.case_id} is "
            f"{state.status} since {state.status_since.isoformat()}; "
            f"{event.event_type} at {event.envelope.event_time.isoformat()} cannot "
            "have happened before that: correct the event time",
        )
    waiting = awaiting_ruling(state, event)
    if waiting is not None:
        return waiting
    gap = _beyond_calendar(state, event, ref)
    if gap is not None:
        return gap
    wrong_sender = refused_sender(state, event, ref)
    if wrong_sender is not None:
        return wrong_sender
    outcome = step_rule(event.event_type)(state, event, ref)
    if isinstance(outcome, Rejected):
        return outcome
    sequence = state.sequence + 1
    derived = [
        _scheduled(event, plan, sequence, sequence + n) for n, plan in enumerate(outcome, start=1)
    ]
    return Accepted((stamp(event, sequence), *derived))


_MEASURED = frozenset({"CaseClaimed", "CaseResolved", "CaseVerified", "CaseResumed"})
"""Steps whose working time the read models count (lateness, handling, time suspended)."""


def _beyond_calendar(state: CaseState, event: CaseEvent, ref: ReferenceView) -> Rejected | None:
    """A measured step of a case with deadlines, in a year no published calendar knows: its
    working hours could not be counted, so it waits for that year's CalendarDefined."""
    if event.event_type not in _MEASURED or not state.deadlines:
        return None
    year = local_date(event.envelope.event_time).year
    if year in ref.calendar().known_years:
        return None
    return Rejected(
        Code.CALENDAR_GAP, f"case {state.case_id} is {state.status}: {CalendarGap(year)}"
    )


def _scheduled(cause: CaseEvent, plan: Plan, cause_sequence: int, sequence: int) -> Event:
    d = plan.deadline
    return DeadlineScheduled(
        envelope=derived_envelope(cause.envelope, f"DeadlineScheduled/{plan.stage}", sequence),
        case_id=cause.case_id,
        deadline_id=plan.deadline_id or deadline_id(cause.case_id, plan.stage, cause_sequence),
        stage=Stage(plan.stage),
        due_time=d.due_time,
        working_hours=int(d.working_hours),
        policy_id=d.policy_id,
        policy_version=d.policy_version,
        calendar_version=d.calendar_version,
        started_at=d.started_at,
    )


def warn_time_of(deadline: DeadlineState, ref: ReferenceView) -> datetime | None:
    """When to warn for ``deadline``, recomputed from the policy and calendar versions it
    recorded; ``None`` when the policy asks for no warning. Raises ``UnknownReference``."""
    policy = ref.sla_policy_version(deadline.policy_id, deadline.policy_version)
    if policy is None:
        raise UnknownReference("SLA policy", f"{deadline.policy_id} v{deadline.policy_version}")
    limit = policy.limits.get((deadline.stage, deadline.priority))
    if limit is None:
        return None
    calendar = ref.calendar_for(deadline.calendar_version)
    return warn_time_for(
        calendar, deadline.due_time, deadline.working_hours, limit.warn_before_hours
    )


def _decide_signal(
    state: CaseState, event: DeadlineWarned | DeadlineBreached, ref: ReferenceView
) -> Decision:
    d = state.deadline(event.deadline_id)
    case = f"case {state.case_id} is {state.status}"
    if d is None:
        return Rejected(Code.UNKNOWN_DEADLINE, f"{case} and has no deadline {event.deadline_id}")
    if d.stage != event.stage or d.status is not DeadlineStatus.open:
        return Rejected(
            Code.STALE_DEADLINE,
            f"{case}, past the {event.stage} stage: deadline "
            f"{d.deadline_id} ({d.stage}) is {d.status}",
        )
    if state.status in PAUSED_STATUSES:
        return Rejected(Code.DEADLINE_PAUSED, f"{case}: its clock is paused until it resumes")
    if event.due_time != d.due_time:
        return Rejected(
            Code.STALE_DEADLINE,
            f"{case}: deadline {d.deadline_id} is now due "
            f"{d.due_time.isoformat()}, not {event.due_time.isoformat()}",
        )
    warned = isinstance(event, DeadlineWarned)
    if d.breached or (warned and d.warned):
        done = "breached" if d.breached else "warned"
        return Rejected(
            Code.DUPLICATE_DEADLINE_SIGNAL,
            f"{case}: deadline {d.deadline_id} was already {done}; each signal is sent once",
        )
    try:
        threshold = warn_time_of(d, ref) if warned else d.due_time
    except UnknownReference as exc:
        return Rejected(Code.UNKNOWN_SLA_POLICY, f"{case}: {exc}")
    if threshold is None:
        return Rejected(
            Code.NO_WARNING_FOR_DEADLINE,
            f"{case}: policy {d.policy_id} v{d.policy_version} asks for no warning on {d.stage}",
        )
    env = event.envelope
    if env.event_time < threshold or env.recorded_time < threshold:
        return Rejected(
            Code.DEADLINE_NOT_DUE,
            f"{case}: deadline {d.deadline_id} signals at "
            f"{threshold.isoformat()}, not {min(env.event_time, env.recorded_time).isoformat()}",
        )
    # A warning or breach happens at its threshold, however late the trigger noticed it.
    at_threshold = model_with(event, envelope=model_with(env, event_time=threshold))
    return Accepted((stamp(at_threshold, state.sequence + 1),))


class DueSignal(NamedTuple):
    """A deadline signal the trigger should submit now."""

    kind: str  # "DeadlineWarned" or "DeadlineBreached"
    deadline_id: str
    stage: str
    due_time: datetime
    at: datetime  # when it happened: the warn time or the due time, not when it was noticed


def due_signals(state: CaseState, now: datetime, ref: ReferenceView) -> list[DueSignal]:
    """The signals due at ``now`` (the trigger's clock, passed in): a breach once the due time
    has passed, else a warning once the warn time has; none while the case is suspended.
    ``ref`` supplies the policy and calendar versions the deadline recorded, for its warn time.
    """
    if state.status in PAUSED_STATUSES:
        return []
    signals = []
    for d in state.deadlines:
        if d.status is not DeadlineStatus.open or d.breached:
            continue
        if now >= d.due_time:
            signals.append(
                DueSignal("DeadlineBreached", d.deadline_id, d.stage, d.due_time, d.due_time)
            )
        elif not d.warned:
            warn = warn_time_of(d, ref)
            if warn is not None and now >= warn:
                signals.append(
                    DueSignal("DeadlineWarned", d.deadline_id, d.stage, d.due_time, warn)
                )
    return signals


def signal_submission(
    case_id: str, signal: DueSignal, now: datetime
) -> DeadlineWarned | DeadlineBreached:
    """The submission for ``signal``, with an event id derived from the deadline, the kind and
    the due time, so that a trigger that retries after a crash submits a duplicate. It
    happened at the signal's own time (``signal.at``); ``now`` is only when it was noticed."""
    key = f"{signal.deadline_id}/{signal.kind}/{signal.due_time.isoformat()}"
    envelope = Envelope(
        event_id=str(uuid.uuid5(_SIGNAL_NAMESPACE, key)),
        event_time=signal.at,
        recorded_time=now,
        source_system=TRIGGER_SOURCE_SYSTEM,
        actor=Actor(id=TRIGGER_SOURCE_SYSTEM, role=ActorRole.system),
    )
    model = DeadlineWarned if signal.kind == "DeadlineWarned" else DeadlineBreached
    return model(
        envelope=envelope,
        case_id=case_id,
        deadline_id=signal.deadline_id,
        stage=Stage(signal.stage),
        due_time=signal.due_time,
    )
