"""Pydantic models of every event, mirroring the current version of each Avro schema.

``schemas/`` is the contract; these models follow it field by field (a test proves it):
same names, same optionality, enums as ``StrEnum``, ``timestamp-millis`` as aware UTC
``datetime``, ``date`` as ``datetime.date``, arrays as tuples. Models are frozen and reject
unknown fields.

Public surface: the base ``Event``, the ``Envelope`` and shared types, one class per event
type, ``MODELS`` / ``model_for``, ``DERIVED_EVENT_TYPES`` (written only by the engine), and
``to_avro`` / ``from_avro`` for the fastavro datum.
"""

from __future__ import annotations

from events.models.case import (
    CASE_EVENTS,
    CaseAccepted,
    CaseClaimed,
    CaseClosed,
    CaseDispatched,
    CaseEscalated,
    CaseEvaluated,
    CaseEvent,
    CaseExtended,
    CaseRejected,
    CaseReopened,
    CaseReported,
    CaseResolved,
    CaseResumed,
    CaseReturned,
    CaseSuspended,
    CaseTransferred,
    CaseVerified,
    Channel,
    DeadlineBreached,
    DeadlineScheduled,
    DeadlineWarned,
    EscalationLevel,
    RejectionReason,
    ReopenReason,
)
from events.models.envelope import (
    Actor,
    ActorRole,
    Envelope,
    Event,
    GeoPoint,
    PlaceLevel,
    Priority,
    Stage,
    TrackPoint,
)
from events.models.reference import (
    REFERENCE_EVENTS,
    CalendarDefined,
    CategoryDefined,
    DepartmentDefined,
    LexiconPublished,
    PlaceDefined,
    PlaceRetired,
    ReferenceEvent,
    SlaLimit,
    SlaPolicyDefined,
    SourceSystemDefined,
    WorkerAssigned,
    WorkerRole,
    WorkingSpan,
)
from events.models.registry import (
    DERIVED_EVENT_TYPES,
    MODELS,
    from_avro,
    model_for,
    to_avro,
)
from events.models.visit import (
    VISIT_EVENTS,
    VisitRecorded,
)
from events.models.workflow import (
    WORKFLOW_EVENTS,
    OutcomeStatus,
    SubmissionOutcome,
    SubmissionRejected,
)

__all__ = [
    "CASE_EVENTS",
    "DERIVED_EVENT_TYPES",
    "MODELS",
    "REFERENCE_EVENTS",
    "VISIT_EVENTS",
    "WORKFLOW_EVENTS",
    "Actor",
    "ActorRole",
    "CalendarDefined",
    "CaseAccepted",
    "CaseClaimed",
    "CaseClosed",
    "CaseDispatched",
    "CaseEscalated",
    "CaseEvaluated",
    "CaseEvent",
    "CaseExtended",
    "CaseRejected",
    "CaseReopened",
    "CaseReported",
    "CaseResolved",
    "CaseResumed",
    "CaseReturned",
    "CaseSuspended",
    "CaseTransferred",
    "CaseVerified",
    "CategoryDefined",
    "Channel",
    "DeadlineBreached",
    "DeadlineScheduled",
    "DeadlineWarned",
    "DepartmentDefined",
    "Envelope",
    "EscalationLevel",
    "Event",
    "GeoPoint",
    "LexiconPublished",
    "OutcomeStatus",
    "PlaceDefined",
    "PlaceLevel",
    "PlaceRetired",
    "Priority",
    "ReferenceEvent",
    "RejectionReason",
    "ReopenReason",
    "SlaLimit",
    "SlaPolicyDefined",
    "SourceSystemDefined",
    "Stage",
    "SubmissionOutcome",
    "SubmissionRejected",
    "TrackPoint",
    "VisitRecorded",
    "WorkerAssigned",
    "WorkerRole",
    "WorkingSpan",
    "from_avro",
    "model_for",
    "to_avro",
]
