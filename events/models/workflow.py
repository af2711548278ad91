"""Outcomes the workflow writes for the submitter (stream ``workflow``, namespace
``fengqiao.workflow``): never submitted from outside."""

from __future__ import annotations

import enum
from typing import Annotated, ClassVar, Literal

from pydantic import Field, Strict, StringConstraints

from events.models.envelope import INT64_MAX, NO_NUL, Event, Id

__all__ = ["WORKFLOW_EVENTS", "OutcomeStatus", "SubmissionOutcome", "SubmissionRejected"]

Message = Annotated[str, Strict(), StringConstraints(min_length=1, max_length=2000, pattern=NO_NUL)]


class SubmissionRejected(Event):
    stream: ClassVar[Literal["case", "visit", "reference", "workflow"]] = "workflow"
    key_field: ClassVar[str] = "submission_key"

    submission_event_id: Id
    submission_type: Id
    submission_key: Id
    submission_source_system: Id
    code: Id
    message: Message


class OutcomeStatus(enum.StrEnum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    DUPLICATE = "DUPLICATE"


class SubmissionOutcome(Event):
    """The one answer to one submission record, on ``fq.outcomes`` keyed by its system."""

    stream: ClassVar[Literal["case", "visit", "reference", "workflow"]] = "workflow"
    key_field: ClassVar[str] = "submission_source_system"

    submission_event_id: Id
    submission_type: Id
    submission_key: Id
    submission_source_system: Id
    submission_stream: Id
    status: OutcomeStatus
    first_status: OutcomeStatus | None = None
    sequence: Annotated[int, Strict(), Field(ge=1, le=INT64_MAX)] | None = None
    events: Annotated[int, Strict(), Field(ge=0, le=2**31 - 1)] = 0
    code: Id | None = None
    message: Message | None = None
    inbox_topic: Annotated[
        str, Strict(), StringConstraints(min_length=1, max_length=255, pattern=NO_NUL)
    ]
    inbox_partition: Annotated[int, Strict(), Field(ge=0, le=2**31 - 1)]
    inbox_offset: Annotated[int, Strict(), Field(ge=0, le=INT64_MAX)]


WORKFLOW_EVENTS: tuple[type[Event], ...] = (SubmissionRejected, SubmissionOutcome)
