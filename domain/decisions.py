"""What ``decide`` answers, the machine-readable rejection codes, and how canonical events
are stamped: the submission's sequence, and deterministic ids and envelopes of derived events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from domain.copies import model_with
from events.models import Actor, ActorRole, Envelope, Event

__all__ = [
    "BENIGN_SIGNAL_REJECTIONS",
    "DERIVED_ACTOR",
    "DERIVED_SOURCE_SYSTEM",
    "Accepted",
    "Decision",
    "Duplicate",
    "Rejected",
    "RejectionCode",
    "deadline_id",
    "derived_envelope",
    "derived_id",
    "recorded_before_event",
    "stamp",
]

E = TypeVar("E", bound=Event)

DERIVED_SOURCE_SYSTEM = "fengqiao-workflow"
DERIVED_ACTOR = Actor(id="fengqiao-workflow", role=ActorRole.system)
_DERIVED_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:fengqiao:derived-event")


class RejectionCode(StrEnum):
    """Why a submission was refused; stable strings that integrators may switch on."""

    WRONG_STREAM = "WRONG_STREAM"
    SEQUENCE_SET_BY_SUBMITTER = "SEQUENCE_SET_BY_SUBMITTER"
    DERIVED_EVENT_FROM_OUTSIDE = "DERIVED_EVENT_FROM_OUTSIDE"
    UNKNOWN_CASE = "UNKNOWN_CASE"
    CASE_EXISTS = "CASE_EXISTS"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    EVENT_TIME_BEFORE_STATUS = "EVENT_TIME_BEFORE_STATUS"
    ALREADY_EVALUATED = "ALREADY_EVALUATED"
    GRID_NOT_EFFECTIVE = "GRID_NOT_EFFECTIVE"
    WORKER_NOT_ASSIGNED = "WORKER_NOT_ASSIGNED"
    UNKNOWN_DEPARTMENT = "UNKNOWN_DEPARTMENT"
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"
    WRONG_DEPARTMENT = "WRONG_DEPARTMENT"
    SAME_DEPARTMENT = "SAME_DEPARTMENT"
    LEVEL_MISMATCH = "LEVEL_MISMATCH"
    UNKNOWN_SLA_POLICY = "UNKNOWN_SLA_POLICY"
    NO_SLA_LIMIT = "NO_SLA_LIMIT"
    CALENDAR_GAP = "CALENDAR_GAP"
    NO_OPEN_DEADLINE = "NO_OPEN_DEADLINE"
    EXTENSION_TOO_LONG = "EXTENSION_TOO_LONG"
    UNKNOWN_DEADLINE = "UNKNOWN_DEADLINE"
    STALE_DEADLINE = "STALE_DEADLINE"
    DEADLINE_PAUSED = "DEADLINE_PAUSED"
    DEADLINE_NOT_DUE = "DEADLINE_NOT_DUE"
    NO_WARNING_FOR_DEADLINE = "NO_WARNING_FOR_DEADLINE"
    DUPLICATE_DEADLINE_SIGNAL = "DUPLICATE_DEADLINE_SIGNAL"
    NO_LADDER_STEP = "NO_LADDER_STEP"
    LADDER_STEP_MISMATCH = "LADDER_STEP_MISMATCH"
    REVIEW_DATE_IN_PAST = "REVIEW_DATE_IN_PAST"
    NOT_COMMAND_CENTRE = "NOT_COMMAND_CENTRE"
    HANDOFF_ALREADY_PENDING = "HANDOFF_ALREADY_PENDING"
    HANDOFF_PENDING = "HANDOFF_PENDING"
    NO_PENDING_HANDOFF = "NO_PENDING_HANDOFF"
    HANDOFF_REQUEST_MISMATCH = "HANDOFF_REQUEST_MISMATCH"
    RULING_WITHOUT_DEPARTMENT = "RULING_WITHOUT_DEPARTMENT"
    RULING_DEPARTMENT_MISMATCH = "RULING_DEPARTMENT_MISMATCH"
    NOT_GRID_WORKER = "NOT_GRID_WORKER"
    VERIFIED_OFF_SITE = "VERIFIED_OFF_SITE"
    VISIT_ENDS_BEFORE_START = "VISIT_ENDS_BEFORE_START"
    TRACK_OUTSIDE_VISIT = "TRACK_OUTSIDE_VISIT"
    DUPLICATE_FINDING = "DUPLICATE_FINDING"
    UNKNOWN_PLACE = "UNKNOWN_PLACE"
    PARENT_NOT_EFFECTIVE = "PARENT_NOT_EFFECTIVE"
    PARENT_WRONG_LEVEL = "PARENT_WRONG_LEVEL"
    RETIRED_BEFORE_DEFINED = "RETIRED_BEFORE_DEFINED"
    VERSION_NOT_INCREASING = "VERSION_NOT_INCREASING"
    POLICY_INCOMPLETE = "POLICY_INCOMPLETE"
    VERSION_EXISTS = "VERSION_EXISTS"
    INVALID_CALENDAR = "INVALID_CALENDAR"
    RECORDED_BEFORE_EVENT = "RECORDED_BEFORE_EVENT"
    BACKDATED_REFERENCE = "BACKDATED_REFERENCE"


BENIGN_SIGNAL_REJECTIONS = frozenset(
    {
        RejectionCode.STALE_DEADLINE,
        RejectionCode.DEADLINE_PAUSED,
        RejectionCode.DUPLICATE_DEADLINE_SIGNAL,
    }
)
"""Rejections of a DeadlineWarned/Breached that only mean the trigger's view was behind."""


@dataclass(frozen=True)
class Accepted:
    """Append these canonical events, in order: the stamped submission, then what it caused."""

    events: tuple[Event, ...]


@dataclass(frozen=True)
class Rejected:
    """Refused: ``code`` for machines, ``message`` for the person who has to act on it."""

    code: RejectionCode
    message: str


@dataclass(frozen=True)
class Duplicate:
    """Already accepted as ``sequence``: re-send the canonical event, append nothing."""

    sequence: int


Decision = Accepted | Rejected | Duplicate


def recorded_before_event(submission: Event) -> Rejected | None:
    """The platform cannot have learned of something before it happened: a submission whose
    ``recorded_time`` precedes its ``event_time`` is refused, whatever its stream."""
    env = submission.envelope
    if env.recorded_time >= env.event_time:
        return None
    return Rejected(
        RejectionCode.RECORDED_BEFORE_EVENT,
        f"{submission.event_type} {env.event_id} is recorded at "
        f"{env.recorded_time.isoformat()}, before it happened ({env.event_time.isoformat()}); "
        "the recording time is when the platform learned of it: correct the clock that "
        "stamped it",
    )


def stamp(event: E, sequence: int) -> E:
    """``event`` with its envelope's sequence set: the canonical form of a submission."""
    return model_with(event, envelope=model_with(event.envelope, sequence=sequence))


def derived_envelope(cause: Envelope, kind: str, sequence: int) -> Envelope:
    """The envelope of an event the engine derives from ``cause``: a uuid5 of the cause's id
    and ``kind`` (so a retry derives the same id), the cause's times, the system actor."""
    return Envelope(
        event_id=derived_id(cause.event_id, kind),
        event_time=cause.event_time,
        recorded_time=cause.recorded_time,
        source_system=DERIVED_SOURCE_SYSTEM,
        actor=DERIVED_ACTOR,
        correlation_id=cause.correlation_id or cause.event_id,
        causation_id=cause.event_id,
        sequence=sequence,
    )


def derived_id(cause_id: str, kind: str) -> str:
    """The event id of what the engine derives from the event ``cause_id``: a uuid5 of the
    two, so a retry derives the same id."""
    return str(uuid.uuid5(_DERIVED_NAMESPACE, f"{cause_id}/{kind}"))


def deadline_id(case_id: str, stage: str, sequence: int) -> str:
    """``<case>:<stage>:<sequence of the event that opened it>``; hashed when over 64 chars."""
    readable = f"{case_id}:{stage}:{sequence}"
    if len(readable) <= 64:
        return readable
    return f"dl:{uuid.uuid5(_DERIVED_NAMESPACE, readable)}"
