"""A submission's JSON body made into an event: checked against the contract, and stamped
with the sending system and the time the gateway received it.

The body is an event of the contract (``{"event_type": ..., "envelope": {...}, ...}``) less
two envelope fields the platform owns: ``source_system`` (the credential's system) and
``recorded_time`` (now). A body that gives either is refused, naming the field, rather than
silently overwritten: a sender that believes it chooses them has a bug worth hearing about.
Every field at fault is reported, not just the first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from events.gateway.problems import FieldError, Invalid, field_error
from events.models import DERIVED_EVENT_TYPES, MODELS, Event

__all__ = ["STAMPED", "SUBMITTABLE", "intake"]

STAMPED = ("source_system", "recorded_time")
"""Envelope fields the gateway sets and a body may not."""
SUBMITTABLE = tuple(
    name
    for name, model in MODELS.items()
    if name not in DERIVED_EVENT_TYPES and model.stream != "workflow"
)
"""The event types a system may submit: not those the engine derives or writes itself."""


def intake(body: Any, system: str, received: datetime) -> Event:
    """The event ``body`` describes, stamped with ``system`` and ``received``.

    Raises:
        Invalid: the body is not an event of a submittable type, gives a stamped field, or
            breaks the contract; ``errors`` names every field at fault.
    """
    if not isinstance(body, dict):
        raise Invalid([FieldError("(body)", "object", "must be a JSON object", "必须是 JSON 对象")])
    fields = dict(body)
    event_type = fields.pop("event_type", None)
    if event_type not in SUBMITTABLE:
        allowed = ", ".join(SUBMITTABLE)
        got = "missing" if event_type is None else "not_a_submission"
        raise Invalid(
            [
                FieldError(
                    "event_type",
                    got,
                    f"must name a submittable event type, one of: {allowed}",
                    f"必须是可提交的事件类型之一：{allowed}",
                    expected=list(SUBMITTABLE),
                )
            ]
        )
    envelope = fields.get("envelope")
    if isinstance(envelope, dict):
        given = [name for name in STAMPED if name in envelope]
        if given:
            raise Invalid(
                [
                    FieldError(
                        f"envelope.{name}",
                        "set_by_gateway",
                        "is set by the gateway from your credential and the time of receipt;"
                        " leave it out",
                        "由网关根据凭证和接收时间填写，请勿提供",
                    )
                    for name in given
                ],
                str(event_type),
            )
        fields["envelope"] = {**envelope, "source_system": system, "recorded_time": received}
    try:
        return MODELS[event_type].model_validate(fields)
    except ValidationError as exc:
        raise Invalid(
            [field_error(e) for e in exc.errors(include_url=False)], str(event_type)
        ) from exc
