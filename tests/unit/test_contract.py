"""The Avro contract and the pydantic models agree, field by field.

Both sides are reduced to the same plain shape by walking them: the expanded current schema
of each event type, and the model's fields and annotations. A shape names every field with
its type (records and enums by name, with their fields and symbols; arrays; nullability),
its default, and the bounds the contract documents in the field's doc as ``[len a..b]`` for
strings or ``[range a..b]`` for numbers; the model must enforce exactly those bounds. A
rename, retype, dropped field, changed default or bound on either side fails the test.
"""

from __future__ import annotations

import copy
import enum
import re
import types
import typing
from datetime import date, datetime
from typing import Any

import annotated_types
import pytest
from pydantic import AwareDatetime, BaseModel, StringConstraints
from pydantic.fields import FieldInfo

from events.models import MODELS
from schemas.catalog import load_catalog

CATALOG = load_catalog()
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
REQUIRED = "<required>"
_LEN = re.compile(r"\[len (\d+)\.\.(\d+)\]")
_RANGE = re.compile(r"\[range (-?\d+)\.\.(-?\d*)\]")


# --- the Avro side ---------------------------------------------------------------------------
def avro_record(schema: dict[str, Any], named: dict[str, Any] | None = None) -> tuple[Any, ...]:
    named = {} if named is None else named
    named[f"{schema['namespace']}.{schema['name']}"] = schema
    fields = tuple(
        (
            f["name"],
            avro_type(f["type"], f["doc"], named, schema["namespace"]),
            f.get("default", REQUIRED),
        )
        for f in schema["fields"]
    )
    return ("record", schema["name"], fields)


def avro_type(t: Any, doc: str, named: dict[str, Any], ns: str) -> Any:
    if isinstance(t, list):
        assert len(t) == 2 and t[0] == "null", f"only [null, X] unions are modelled: {t}"
        return ("nullable", avro_type(t[1], doc, named, ns))
    if isinstance(t, str):
        if t in named:
            return avro_type(named[t], doc, named, ns)
        if f"{ns}.{t}" in named:
            return avro_type(named[f"{ns}.{t}"], doc, named, ns)
        return _avro_scalar(t, doc)
    if t.get("logicalType") in ("timestamp-millis", "date"):
        return t["logicalType"]
    if t["type"] == "record":
        return avro_record(t, named)
    if t["type"] == "enum":
        named[f"{t.get('namespace', ns)}.{t['name']}"] = t
        return ("enum", t["name"], tuple(t["symbols"]))
    if t["type"] == "array":
        return ("array", avro_type(t["items"], doc, named, ns))
    return _avro_scalar(t["type"], doc)


def _avro_scalar(name: str, doc: str) -> Any:
    if name == "string":
        m = _LEN.search(doc)
        return ("string", int(m.group(1)), int(m.group(2))) if m else ("string", 0, None)
    if name in ("int", "long", "double"):
        lo, hi = {"int": INT32, "long": INT64, "double": (None, None)}[name]
        m = _RANGE.search(doc)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2)) if m.group(2) else hi
        return (name, lo, hi)
    return name


# --- the model side --------------------------------------------------------------------------
def model_record(model: type[BaseModel]) -> tuple[Any, ...]:
    fields = tuple(
        (name, model_type(info.annotation, info.metadata), _default(info))
        for name, info in model.model_fields.items()
    )
    return ("record", model.__name__, fields)


def _default(info: FieldInfo) -> Any:
    return REQUIRED if info.is_required() else info.default


def model_type(t: Any, metadata: list[Any]) -> Any:
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin is typing.Annotated:
        return model_type(args[0], [*metadata, *args[1:]])
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        assert len(args) == 2 and len(inner) == 1, f"only X | None unions: {t}"
        return ("nullable", model_type(inner[0], metadata))
    if origin is tuple:
        assert len(args) == 2 and args[1] is Ellipsis, f"arrays are tuple[X, ...]: {t}"
        return ("array", model_type(args[0], metadata))
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return ("enum", t.__name__, tuple(m.value for m in t))
    if isinstance(t, type) and issubclass(t, BaseModel):
        return model_record(t)
    if t is AwareDatetime:
        return "timestamp-millis"
    if t is datetime:
        pytest.fail("a plain datetime accepts naive values; timestamps are AwareDatetime")
    if t is date:
        return "date"
    bounds = _bounds(metadata)
    if t is str:
        return ("string", bounds.get("min_length") or 0, bounds.get("max_length"))
    if t is int:
        kind = "int" if bounds.get("le", INT64[1]) <= INT32[1] else "long"
        return (kind, bounds.get("ge"), bounds.get("le"))
    if t is float:
        return ("double", bounds.get("ge"), bounds.get("le"))
    if t is bool:
        return "boolean"
    pytest.fail(f"no Avro counterpart for {t!r}")


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            found.update(_bounds(item.metadata))
        elif isinstance(item, StringConstraints):
            found.update(min_length=item.min_length, max_length=item.max_length)
        elif isinstance(item, annotated_types.Ge):
            found["ge"] = item.ge
        elif isinstance(item, annotated_types.Le):
            found["le"] = item.le
    return found


def _fields(shape: tuple[Any, ...]) -> dict[str, Any]:
    return {name: (kind, default) for name, kind, default in shape[2]}


# --- the tests -------------------------------------------------------------------------------
@pytest.mark.parametrize("event_type", CATALOG.event_types())
def test_model_mirrors_current_schema(event_type: str) -> None:
    schema_shape = avro_record(CATALOG.current(event_type).schema)
    model_shape = model_record(MODELS[event_type])
    assert _fields(model_shape) == _fields(schema_shape)
    assert [f[0] for f in model_shape[2]] == [f[0] for f in schema_shape[2]], "field order"
    assert model_shape[1] == schema_shape[1] == event_type


def test_every_catalog_event_has_a_model_and_back() -> None:
    assert sorted(MODELS) == CATALOG.event_types()


def test_model_metadata_matches_the_catalog() -> None:
    for event_type, model in MODELS.items():
        current = CATALOG.current(event_type)
        assert (model.event_type, model.stream) == (current.event_type, current.stream)
        assert model.key_field in model.model_fields


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda s: s["fields"][2].update(name="grid"), id="rename"),
        pytest.param(lambda s: s["fields"][2].update(type="int"), id="retype"),
        pytest.param(lambda s: s["fields"].pop(3), id="drop"),
        pytest.param(lambda s: s["fields"][8].update(type="string"), id="not-nullable"),
        pytest.param(lambda s: s["fields"][-1].update(default=1), id="default"),
        pytest.param(lambda s: s["fields"][5].update(doc="Title. [len 1..300]"), id="bound"),
        pytest.param(lambda s: s["fields"][4]["type"]["symbols"].pop(), id="enum-symbol"),
        pytest.param(
            lambda s: s["fields"][0]["type"]["fields"][4]["type"]["fields"][0].update(name="ident"),
            id="nested-record",
        ),
    ],
)
def test_comparison_catches_drift(mutate: Any) -> None:
    schema = copy.deepcopy(CATALOG.current("CaseReported").schema)
    mutate(schema)
    assert _fields(avro_record(schema)) != _fields(model_record(MODELS["CaseReported"]))


def _walk_fields(schema: dict[str, Any]) -> typing.Iterator[tuple[str, dict[str, Any]]]:
    for field in schema["fields"]:
        yield f"{schema['name']}.{field['name']}", field
        for node in _nested(field["type"]):
            yield from _walk_fields(node)


def _nested(t: Any) -> typing.Iterator[dict[str, Any]]:
    if isinstance(t, list):
        for branch in t:
            yield from _nested(branch)
    elif isinstance(t, dict) and t.get("type") == "record":
        yield t
    elif isinstance(t, dict) and t.get("type") == "array":
        yield from _nested(t["items"])


@pytest.mark.parametrize("event_type", CATALOG.event_types())
def test_every_version_documents_every_field_and_has_an_envelope(event_type: str) -> None:
    for version in CATALOG.versions(event_type):
        assert version.schema["doc"]
        assert version.schema["fields"][0]["name"] == "envelope"
        assert version.schema["fields"][0]["type"]["name"] == "Envelope"
        for where, field in _walk_fields(version.schema):
            assert field["doc"].strip(), f"{version.path}: {where} has no doc"


def test_personal_data_is_documented_as_pseudonymous() -> None:
    fields = dict(_walk_fields(CATALOG.current("CaseReported").schema))
    assert "pseudonymous" in fields["CaseReported.reporter_ref"]["doc"].lower()
    assert "pseudonymous" in fields["Actor.id"]["doc"]
