"""The gateway's OpenAPI request schemas and the Avro contract agree, type by type: the same
fields, types, required fields and enum symbols, less the two envelope fields the gateway
stamps (``source_system``, ``recorded_time``); and the document is the app's own."""

from __future__ import annotations

from typing import Any

import pytest

from events.gateway.app import create_app
from events.gateway.intake import STAMPED, SUBMITTABLE
from events.gateway.settings import GatewaySettings
from events.models import DERIVED_EVENT_TYPES, MODELS
from schemas.catalog import load_catalog

DOCUMENT = create_app(GatewaySettings()).openapi()
COMPONENTS = DOCUMENT["components"]["schemas"]
CATALOG = load_catalog()
_SCALARS = {
    "string": ("string", None),
    "int": ("integer", None),
    "long": ("integer", None),
    "double": ("number", None),
    "float": ("number", None),
    "boolean": ("boolean", None),
}
_LOGICAL = {"timestamp-millis": "date-time", "date": "date"}


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = COMPONENTS[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _agree(avro: Any, api: dict[str, Any], where: str, named: dict[str, Any]) -> None:
    api = _resolve(api)
    if isinstance(avro, str) and avro in named:
        avro = named[avro]
    if isinstance(avro, list):  # a union: only ["null", X] is used
        assert avro[0] == "null" and len(avro) == 2, where
        branches = api["anyOf"]
        assert {"type": "null"} in branches, where
        (other,) = [b for b in branches if b != {"type": "null"}]
        _agree(avro[1], other, where, named)
        return
    if isinstance(avro, str):
        kind, _ = _SCALARS[avro]
        assert api.get("type") == kind and "format" not in api, f"{where}: {avro} vs {api}"
        return
    if "logicalType" in avro:
        assert (api.get("type"), api.get("format")) == ("string", _LOGICAL[avro["logicalType"]]), (
            where
        )
        return
    if avro["type"] == "enum":
        named[avro["name"]] = named[f"{avro.get('namespace', '')}.{avro['name']}"] = avro
        assert api["enum"] == avro["symbols"], where
        return
    if avro["type"] == "array":
        assert api["type"] == "array", where
        _agree(avro["items"], api["items"], f"{where}[]", named)
        return
    assert avro["type"] == "record", where
    named[f"{avro.get('namespace', '')}.{avro['name']}"] = avro
    named[avro["name"]] = avro
    fields = {f["name"]: f for f in avro["fields"]}
    properties = dict(api["properties"])
    required = set(api.get("required", ()))
    if avro["name"] == "Envelope":
        for name in STAMPED:
            fields.pop(name)
    if where.count(".") == 0:  # the event itself: its tag
        assert properties.pop("event_type")["const"] == avro["name"]
        required.remove("event_type")
    assert set(properties) == set(fields), where
    assert required == {n for n, f in fields.items() if "default" not in f}, where
    assert api.get("additionalProperties") is False, where
    for name, field in fields.items():
        _agree(field["type"], properties[name], f"{where}.{name}", named)


@pytest.mark.parametrize("event_type", SUBMITTABLE)
def test_the_request_schema_of_each_event_type_agrees_with_its_avsc(event_type: str) -> None:
    _agree(CATALOG.current(event_type).schema, {"$ref": f"#/x/{event_type}"}, event_type, {})


def test_every_submittable_type_is_one_of_a_submission_and_no_derived_one_is() -> None:
    mapping = COMPONENTS["Submission"]["discriminator"]["mapping"]
    assert set(mapping) == set(SUBMITTABLE)
    assert not set(mapping) & (DERIVED_EVENT_TYPES | {"SubmissionOutcome", "SubmissionRejected"})
    assert set(SUBMITTABLE) | DERIVED_EVENT_TYPES | {
        "SubmissionOutcome",
        "SubmissionRejected",
    } == set(MODELS)


def test_the_routes_take_the_schemas_as_their_bodies() -> None:
    paths = DOCUMENT["paths"]
    body = paths["/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Submission"}
    batch = paths["/v1/events/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert batch["schema"] == {"$ref": "#/components/schemas/Batch"}
    assert set(DOCUMENT["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyHeader"}
