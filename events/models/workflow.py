"""Outcomes the workflow writes for the submitter (stream ``workflow``, namespace
``fengqiao.workflow``): never submitted from outside."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Strict, StringConstraints

from events.models.envelope import Event, Id

__all__ = ["WORKFLOW_EVENTS", "SubmissionRejected"]


class SubmissionRejected(Event):
    stream: ClassVar[Literal["case", "visit", "reference", "workflow"]] = "workflow"
    key_field: ClassVar[str] = "submission_key"

    submission_event_id: Id
    submission_type: Id
    submission_key: Id
    submission_source_system: Id
    code: Id
    message: Annotated[str, Strict(), StringConstraints(min_length=1, max_length=2000)]


WORKFLOW_EVENTS: tuple[type[Event], ...] = (SubmissionRejected,)
