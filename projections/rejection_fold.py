"""Refused submissions as read-model rows: one ``SubmissionRejected`` (as its Avro datum) from
the rejections log becomes one row of ``rejections``, attached to its case when the refused
submission was a case event.

Pure: the projector folds these with the canonical logs' records, in the same batch and
transaction, so a case's page shows what the workflow refused beside what it accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from events.models import MODELS
from events.topics import INBOX

__all__ = ["RejectionRow", "rejection_row", "stream_of"]

# A poison record's refusal names no event type; its id says which inbox it was read from
# (``processors.outputs.dead_letter``: ``poison/<inbox>/<partition>/<offset>``).
_POISON_PREFIX = {f"poison/{topic}/": stream for stream, topic in INBOX.items()}


class RejectionRow(NamedTuple):
    """One refused submission: what was sent, by which system, and why it was refused.

    ``event_time`` and ``recorded_time`` are the submission's own (a rejection carries its
    cause's times), so a refusal sits where the submission would have in the case's trace.
    """

    event_id: str  # the rejection's own id: the same submission always gets the same one
    case_id: str | None  # the case refused a submission; none for visits and reference data
    stream: str | None  # case, visit or reference; none when the record could not be read
    submission_key: str  # the submitted record's key: case id, grid id or entity id
    submission_event_id: str
    event_type: str  # the refused submission's event type
    code: str
    message: str
    source_system: str  # the system that submitted it
    event_time: datetime
    recorded_time: datetime


def stream_of(submission_type: str, submission_event_id: str) -> str | None:
    """The stream a refused submission was meant for: its event type's, or for a record that
    could not be decoded, the inbox it was read from; ``None`` when neither says."""
    model = MODELS.get(submission_type)
    if model is not None:
        return model.stream
    for prefix, stream in _POISON_PREFIX.items():
        if submission_event_id.startswith(prefix):
            return stream
    return None


def rejection_row(datum: Mapping[str, Any]) -> RejectionRow:
    """The row of one ``SubmissionRejected`` datum."""
    env = datum["envelope"]
    stream = stream_of(datum["submission_type"], datum["submission_event_id"])
    key = datum["submission_key"]
    return RejectionRow(
        env["event_id"],
        key if stream == "case" else None,
        stream,
        key,
        datum["submission_event_id"],
        datum["submission_type"],
        datum["code"],
        datum["message"],
        datum["submission_source_system"],
        env["event_time"],
        env["recorded_time"],
    )
