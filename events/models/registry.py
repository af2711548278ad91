"""The registry of event models by event type, and the model <-> Avro datum conversion.

``to_avro`` and ``from_avro`` sit on the publish and consume hot paths, so they do no
per-call reflection: one dict lookup, then pydantic's compiled (Rust) dump or validation.
fastavro takes and gives ``datetime`` for ``timestamp-millis`` and ``date`` for ``date``,
``str`` for enum symbols (a ``StrEnum`` member is one) and any sequence for an array, so the
model's plain dump is already the datum.
"""

from __future__ import annotations

from typing import Any

from events.errors import UnknownEventType
from events.models.case import CASE_EVENTS, DERIVED_EVENT_TYPES
from events.models.envelope import Event
from events.models.reference import REFERENCE_EVENTS
from events.models.visit import VISIT_EVENTS
from events.models.workflow import WORKFLOW_EVENTS

__all__ = ["DERIVED_EVENT_TYPES", "MODELS", "from_avro", "model_for", "to_avro"]

MODELS: dict[str, type[Event]] = {
    model.event_type: model
    for model in (*CASE_EVENTS, *VISIT_EVENTS, *REFERENCE_EVENTS, *WORKFLOW_EVENTS)
}


def model_for(event_type: str) -> type[Event]:
    """The model of ``event_type``.

    Raises:
        UnknownEventType: no model has that event type.
    """
    try:
        return MODELS[event_type]
    except KeyError:
        raise UnknownEventType(event_type, list(MODELS)) from None


def to_avro(event: Event) -> dict[str, Any]:
    """The fastavro datum of ``event``, for the current schema of its event type."""
    return event.model_dump()


def from_avro(event_type: str, record: dict[str, Any]) -> Event:
    """Validate a fastavro datum (decoded with the current schema) into its model.

    Raises:
        UnknownEventType: ``event_type`` has no model.
        pydantic.ValidationError: the datum breaks the model's rules.
    """
    return model_for(event_type).model_validate(record)
