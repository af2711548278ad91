"""Case events (stream ``case``, namespace ``fengqiao.case``), keyed by ``case_id``.

One model per ``schemas/events/<EventType>``, mirroring its current version field by field.
The ``Deadline*`` events and the ladder's steps (``LADDER_EVENT_TYPES``) are derived by the engine and never accepted as submissions.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import Field, Strict, StringConstraints, ValidationInfo, field_validator

from events.models.envelope import (
    INT32_MAX,
    NO_NUL,
    Bool,
    Comment,
    Event,
    GeoPoint,
    Id,
    PersonalData,
    Priority,
    Reason,
    Stage,
    Text,
    Title,
    UtcDatetime,
)

__all__ = [
    "CASE_EVENTS",
    "DERIVED_EVENT_TYPES",
    "LADDER_EVENT_TYPES",
    "CaseAccepted",
    "CaseClaimed",
    "CaseClosed",
    "CaseDispatched",
    "CaseEscalated",
    "CaseEvaluated",
    "CaseEvent",
    "CaseExtended",
    "CaseNoticed",
    "CaseParked",
    "CaseRejected",
    "CaseReopened",
    "CaseReported",
    "CaseResolved",
    "CaseResumed",
    "CaseReturned",
    "CaseSupervised",
    "CaseSuspended",
    "CaseTransferred",
    "CaseUnparked",
    "CaseUrged",
    "CaseVerified",
    "Channel",
    "DeadlineBreached",
    "DeadlineScheduled",
    "DeadlineWarned",
    "EscalationLevel",
    "HandoffRequested",
    "HandoffRuled",
    "RejectionReason",
    "ReopenReason",
    "SupervisionLevel",
]

WorkingHours = Annotated[int, Strict(), Field(ge=1, le=2000)]


class Channel(enum.StrEnum):
    grid_visit = "grid_visit"
    resident = "resident"
    department = "department"
    hotline = "hotline"


class RejectionReason(enum.StrEnum):
    duplicate = "duplicate"
    out_of_scope = "out_of_scope"
    invalid = "invalid"
    insufficient_information = "insufficient_information"


class ReopenReason(enum.StrEnum):
    failed_verification = "failed_verification"
    resident_complaint = "resident_complaint"
    supervision = "supervision"


class EscalationLevel(enum.StrEnum):
    street = "street"
    district = "district"
    city = "city"


class SupervisionLevel(enum.StrEnum):
    """Who supervises (督办) an overdue case: the street, then the district."""

    street = "street"
    district = "district"


class CaseEvent(Event):
    """Base of the case events: all carry the case id, the key of the case stream."""

    stream: ClassVar[Literal["case", "visit", "reference"]] = "case"
    key_field: ClassVar[str] = "case_id"

    case_id: Id


class CaseReported(CaseEvent):
    grid_id: Id
    category_code: Id
    priority: Priority
    title: Title
    description: Text
    location: GeoPoint | None = None
    reporter_ref: Id | None = None
    reporter: PersonalData | None = None
    channel: Channel
    visit_id: Id | None = None
    attachments_count: Annotated[int, Strict(), Field(ge=0, le=1000)] = 0


class CaseAccepted(CaseEvent):
    category_code: Id | None = None
    priority: Priority | None = None
    comment: Comment | None = None


class CaseRejected(CaseEvent):
    reason: RejectionReason
    duplicate_of: Id | None = Field(default=None, validate_default=True)
    comment: Comment

    @field_validator("duplicate_of")
    @classmethod
    def _duplicate_needs_original(cls, value: str | None, info: ValidationInfo) -> str | None:
        if (info.data.get("reason") == RejectionReason.duplicate) != (value is not None):
            raise ValueError("required when reason is duplicate, and only then")
        return value


class CaseDispatched(CaseEvent):
    department_code: Id
    instructions: (
        Annotated[str, Strict(), StringConstraints(max_length=2000, pattern=NO_NUL)] | None
    ) = None


class CaseClaimed(CaseEvent):
    department_code: Id


class CaseTransferred(CaseEvent):
    from_department: Id
    to_department: Id
    reason: Reason


class CaseReturned(CaseEvent):
    department_code: Id
    reason: Reason


class CaseExtended(CaseEvent):
    stage: Stage
    extra_working_hours: WorkingHours
    approved_by: Id
    reason: Reason


class CaseSuspended(CaseEvent):
    reason: Reason


class CaseResumed(CaseEvent):
    pass


_LEVELS = list(EscalationLevel)


class CaseParked(CaseEvent):
    reason: Reason
    review_date: date


class CaseUnparked(CaseEvent):
    comment: Comment | None = None


class HandoffRequested(CaseEvent):
    department_code: Id
    reason: Reason
    suggested_department: Id | None = None


class HandoffRuled(CaseEvent):
    request_id: Id
    upheld: Bool
    department_code: Id | None = None
    comment: Comment | None = None


class CaseEscalated(CaseEvent):
    from_level: EscalationLevel
    to_level: EscalationLevel
    reason: Reason

    @field_validator("to_level")
    @classmethod
    def _goes_up(cls, value: EscalationLevel, info: ValidationInfo) -> EscalationLevel:
        below = info.data.get("from_level")
        if below is not None and _LEVELS.index(value) <= _LEVELS.index(below):
            raise ValueError(f"must be higher than from_level {below}")
        return value


class CaseResolved(CaseEvent):
    department_code: Id
    resolution: Text


class CaseVerified(CaseEvent):
    passed: Bool
    comment: Comment | None = None
    worker_id: Id
    location: GeoPoint | None = None


class CaseReopened(CaseEvent):
    reason: ReopenReason
    comment: Comment | None = None


class CaseClosed(CaseEvent):
    pass


class CaseEvaluated(CaseEvent):
    satisfaction: Annotated[int, Strict(), Field(ge=1, le=5)]
    comment: Comment | None = None


class DeadlineScheduled(CaseEvent):
    deadline_id: Id
    stage: Stage
    due_time: UtcDatetime
    working_hours: WorkingHours
    policy_id: Id
    policy_version: Annotated[int, Strict(), Field(ge=1, le=INT32_MAX)]
    calendar_version: Id
    started_at: UtcDatetime


class DeadlineWarned(CaseEvent):
    deadline_id: Id
    stage: Stage
    due_time: UtcDatetime


class DeadlineBreached(CaseEvent):
    deadline_id: Id
    stage: Stage
    due_time: UtcDatetime


class CaseUrged(CaseEvent):
    deadline_id: Id
    stage: Stage
    due_time: UtcDatetime
    urge_number: Annotated[int, Strict(), Field(ge=1, le=INT32_MAX)]
    department_code: Id | None = None


class CaseSupervised(CaseEvent):
    deadline_id: Id
    stage: Stage
    due_time: UtcDatetime
    level: SupervisionLevel
    supervision_due_time: UtcDatetime
    department_code: Id | None = None


class CaseNoticed(CaseEvent):
    deadline_id: Id
    stage: Stage
    due_time: UtcDatetime
    period: Annotated[
        str, Strict(), StringConstraints(min_length=7, max_length=7, pattern=r"^[0-9]{4}-[0-9]{2}$")
    ]
    supervision_level: SupervisionLevel | None = None
    department_code: Id | None = None


CASE_EVENTS: tuple[type[CaseEvent], ...] = (
    CaseReported,
    CaseAccepted,
    CaseRejected,
    CaseDispatched,
    CaseClaimed,
    CaseTransferred,
    CaseReturned,
    CaseExtended,
    CaseSuspended,
    CaseResumed,
    CaseParked,
    CaseUnparked,
    HandoffRequested,
    HandoffRuled,
    CaseEscalated,
    CaseResolved,
    CaseVerified,
    CaseReopened,
    CaseClosed,
    CaseEvaluated,
    DeadlineScheduled,
    DeadlineWarned,
    DeadlineBreached,
    CaseUrged,
    CaseSupervised,
    CaseNoticed,
)
LADDER_EVENT_TYPES = frozenset({"CaseUrged", "CaseSupervised", "CaseNoticed"})
"""The supervision ladder's steps past the breach (催办, 督办, 通报), derived by the engine."""
DERIVED_EVENT_TYPES = frozenset(
    {"DeadlineScheduled", "DeadlineWarned", "DeadlineBreached", *LADDER_EVENT_TYPES}
)
