"""The request bodies of the OpenAPI document, made from the event models themselves.

Each submittable event type is its model's JSON schema (the same models the Avro contract is
proven against) with ``event_type`` as its tag and an envelope without the fields the gateway
stamps; ``Submission`` is one of them, chosen by ``event_type``. A test proves these schemas
and the ``.avsc`` files agree.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic.json_schema import models_json_schema

from events.gateway.intake import STAMPED, SUBMITTABLE
from events.models import MODELS

__all__ = ["REF", "request_body", "request_schemas"]

REF = "#/components/schemas/{model}"
SUBMITTED_ENVELOPE = "SubmittedEnvelope"


def request_schemas(max_batch: int) -> dict[str, dict[str, Any]]:
    """Component schemas: one per submittable event type, ``Submission`` and ``Batch``."""
    _, document = models_json_schema(
        [(MODELS[name], "validation") for name in SUBMITTABLE], ref_template=REF
    )
    schemas: dict[str, dict[str, Any]] = copy.deepcopy(document["$defs"])
    envelope = schemas.pop("Envelope")
    for name in STAMPED:
        envelope["properties"].pop(name)
        envelope["required"].remove(name)
    envelope["title"] = SUBMITTED_ENVELOPE
    envelope["description"] = (
        "The envelope as a system submits it: source_system and recorded_time are stamped by "
        "the gateway (from the credential and the time of receipt) and refused when given."
    )
    schemas[SUBMITTED_ENVELOPE] = envelope
    envelope_ref = REF.format(model="Envelope")
    for name in SUBMITTABLE:
        schema = schemas[name]
        schema["properties"] = {
            "event_type": {"type": "string", "const": name, "enum": [name]},
            **schema["properties"],
        }
        schema["properties"]["envelope"] = {"$ref": REF.format(model=SUBMITTED_ENVELOPE)}
        schema["required"] = ["event_type", *schema["required"]]
    _replace_refs(schemas, envelope_ref, REF.format(model=SUBMITTED_ENVELOPE))
    schemas["Submission"] = {
        "title": "Submission",
        "description": "One event of a submittable type, named by event_type.",
        "oneOf": [{"$ref": REF.format(model=name)} for name in SUBMITTABLE],
        "discriminator": {
            "propertyName": "event_type",
            "mapping": {name: REF.format(model=name) for name in SUBMITTABLE},
        },
    }
    schemas["Batch"] = {
        "title": "Batch",
        "type": "object",
        "additionalProperties": False,
        "required": ["events"],
        "properties": {
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_batch,
                # Each item is judged on its own: one that is not a Submission is refused in
                # its place in ``results`` and the others are still sent, so the batch as a
                # whole takes any item.
                "items": {
                    "description": "a Submission; anything else is answered 422 in its place",
                    "anyOf": [{"$ref": REF.format(model="Submission")}, {}],
                },
            }
        },
    }
    return schemas


def _replace_refs(node: Any, old: str, new: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and value == old:
                node[key] = new
            else:
                _replace_refs(value, old, new)
    elif isinstance(node, list):
        for item in node:
            _replace_refs(item, old, new)


def request_body(model: str) -> dict[str, Any]:
    """A route's ``openapi_extra`` declaring its JSON body as the component ``model``."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=model)}}},
        }
    }
