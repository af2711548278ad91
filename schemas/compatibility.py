"""BACKWARD_TRANSITIVE compatibility of the catalog, checked with Apache Avro's own checker.

For every event type, each version must read data written with every earlier version (the
schema registry's BACKWARD_TRANSITIVE rule), and every field added after v1 must carry a
default (the house rule that keeps old writers readable and makes the intent explicit).
Problems come back as plain strings naming the event type, the versions and what the
checker found; an empty list means the catalog is fine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import avro.schema
from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityType,
    SchemaIncompatibilityType,
)
from avro.compatibility import SchemaCompatibilityResult as Result
from avro.schema import ArraySchema, RecordSchema, Schema

from schemas.catalog import Catalog, SchemaVersion
from schemas.errors import IncompatibleSchema

__all__ = ["assert_backward_transitive", "check_backward_transitive", "check_pair"]


def check_pair(reader_schema: dict[str, Any], writer_schema: dict[str, Any]) -> list[str]:
    """What stops ``reader_schema`` from reading data written with ``writer_schema``.

    Both schemas must be self-contained (as ``SchemaVersion.schema`` is). Each problem names
    the field at fault as a dotted path (``envelope.actor.role``, ``track[].lat``), then the
    checker's incompatibility kinds, messages and locations; an empty list means compatible.
    """
    reader = avro.schema.parse(json.dumps(reader_schema))
    writer = avro.schema.parse(json.dumps(writer_schema))
    return [_describe(path, result) for path, result in _locate(reader, writer, "")]


def _describe(path: str, result: Result) -> str:
    kinds = ", ".join(sorted({i.value for i in result.incompatibilities}))
    where = sorted(loc for loc in result.locations if loc != "/")
    at = f" (at {', '.join(where)})" if where else ""
    return f"{path or '<record>'}: {kinds}: {'; '.join(sorted(result.messages))}{at}"


def _locate(reader: Schema, writer: Schema, path: str) -> Iterator[tuple[str, Result]]:
    """The innermost fields whose reader and writer types are incompatible.

    The Avro checker loses the location inside unions, so records (and arrays of records)
    are walked here field by field and each field's pair is checked on its own.
    """
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(reader, writer)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return
    if isinstance(reader, ArraySchema) and isinstance(writer, ArraySchema):
        yield from _locate(reader.items, writer.items, f"{path}[]")
        return
    if isinstance(reader, RecordSchema) and isinstance(writer, RecordSchema):
        found = False
        written = writer.fields_dict
        for field in reader.fields:
            here = f"{path}.{field.name}" if path else field.name
            if field.name in written:
                for inner in _locate(field.type, written[field.name].type, here):
                    found = True
                    yield inner
            elif not field.has_default:
                found = True
                yield here, _missing_default(field.name)
        if found:
            return
    yield path, result


def _missing_default(name: str) -> Result:
    return Result(
        SchemaCompatibilityType.incompatible,
        [SchemaIncompatibilityType.reader_field_missing_default_value],
        {f"new field {name!r} has no default, so data written without it cannot be read"},
    )


def check_backward_transitive(catalog: Catalog) -> list[str]:
    """Every problem that breaks BACKWARD_TRANSITIVE or the defaults rule, for all event types."""
    problems: list[str] = []
    for event_type in catalog.event_types():
        versions = catalog.versions(event_type)
        for i, reader in enumerate(versions):
            for writer in versions[:i]:
                problems.extend(
                    f"{event_type}: v{reader.version} cannot read v{writer.version}: {p}"
                    for p in check_pair(reader.schema, writer.schema)
                )
        problems.extend(_fields_without_default(versions))
    return problems


def assert_backward_transitive(catalog: Catalog) -> None:
    """Raise ``IncompatibleSchema`` listing every problem ``check_backward_transitive`` finds."""
    problems = check_backward_transitive(catalog)
    if problems:
        raise IncompatibleSchema("; ".join(problems))


def _fields_without_default(versions: list[SchemaVersion]) -> list[str]:
    first = {f["name"] for f in versions[0].schema["fields"]}
    return [
        f"{v.event_type}: v{v.version} adds field {f['name']!r} without a default"
        for v in versions[1:]
        for f in v.schema["fields"]
        if f["name"] not in first and "default" not in f
    ]
