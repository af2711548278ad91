"""Turning pydantic validation errors and raw JSON into Fengqiao's specific errors."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from events.errors import InvalidEvent, UnknownEventType
from events.models import MODELS, Event, model_for


def invalid_event_from(event_type: str, exc: ValidationError) -> InvalidEvent:
    """The first validation error as an ``InvalidEvent`` naming the field and the rule;
    the rest are appended to the detail so that nothing is hidden."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = ".".join(str(part) for part in first["loc"]) or "(event)"
    detail = first["msg"]
    if first.get("input") is not None and first["type"] != "missing":
        detail += f" (got {_short(first['input'])})"
    if len(errors) > 1:
        others = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[1:5])
        detail += f"; also {others}" + (" …" if len(errors) > 5 else "")
    return InvalidEvent(event_type, field, first["type"], detail)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_event(obj: Any) -> Event:
    """Build an event from a JSON object ``{"event_type": "CaseReported", ...fields}``.

    Raises:
        InvalidEvent: not an object, no event_type, or a field breaks the contract.
        UnknownEventType: event_type is not in the catalog.
    """
    if not isinstance(obj, dict):
        raise InvalidEvent("?", "(event)", "object", f"expected a JSON object, got {_short(obj)}")
    fields = dict(obj)
    event_type = fields.pop("event_type", None)
    if not isinstance(event_type, str):
        raise InvalidEvent("?", "event_type", "missing", "every event needs an event_type string")
    if event_type not in MODELS:
        raise UnknownEventType(event_type, list(MODELS))
    model = model_for(event_type)
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise invalid_event_from(event_type, exc) from exc
