"""The registry client and catalog registration on the real registry: ids are reused and
looked up, an incompatible version is refused with the registry's own reason and leaves the
subject as it was, and an incompatible catalog is refused before anything is registered.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from events.errors import IncompatibleSchema, RegistryError
from events.registry import COMPATIBILITY, SchemaRegistry, subject_name
from events.schema_admin import Registered, register_catalog
from schemas.catalog import SCHEMA_ROOT, load_catalog
from schemas.compatibility import check_backward_transitive
from tests.integration.helpers import (
    Scratch,
    delete_subjects,
    registry_fixture,  # noqa: F401 (a fixture)
    scratch_fixture,  # noqa: F401 (a fixture)
)

CASE_REPORTED_V1, CASE_REPORTED_V2 = load_catalog().versions("CaseReported")[:2]


def _with_fields(schema: dict[str, Any], **changes: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the named fields replaced, or appended when it has no such field."""
    names = {field["name"] for field in schema["fields"]}
    fields = [changes.get(field["name"], field) for field in schema["fields"]]
    fields += [new for name, new in changes.items() if name not in names]
    return {**schema, "fields": fields}


def test_register_reuses_the_id_and_lookup_finds_it(
    registry: SchemaRegistry, scratch: Scratch
) -> None:
    subject = subject_name(scratch.topic(1), CASE_REPORTED_V1.fullname)
    assert registry.lookup(subject, CASE_REPORTED_V1.schema) is None

    first = registry.register(subject, CASE_REPORTED_V1.schema)
    again = registry.register(subject, CASE_REPORTED_V1.schema)

    assert first == again
    assert registry.versions(subject) == [1]
    fresh = SchemaRegistry(registry.url)  # nothing cached: the registry must answer
    try:
        assert fresh.lookup(subject, CASE_REPORTED_V1.schema) == first
        assert fresh.schema_by_id(first)["name"] == "CaseReported"
    finally:
        fresh.close()
    assert registry.lookup(subject, CASE_REPORTED_V2.schema) is None


def test_unknown_schema_id_is_a_registry_error_with_status_404(registry: SchemaRegistry) -> None:
    with pytest.raises(RegistryError) as caught:
        registry.schema_by_id(999_999_999)
    assert caught.value.status == 404
    assert "999999999" in str(caught.value)


def _severity(doc: str = "how bad") -> dict[str, Any]:
    return {"name": "severity", "type": "int", "doc": doc}


INCOMPATIBLE = {
    "new field without default": (
        _with_fields(CASE_REPORTED_V1.schema, severity=_severity()),
        "severity",
    ),
    "type change": (
        _with_fields(
            CASE_REPORTED_V1.schema,
            title={"name": "title", "type": "int", "doc": "now a number"},
        ),
        "INT not compatible with writer type: STRING",
    ),
}


@pytest.mark.parametrize(("schema", "reason"), INCOMPATIBLE.values(), ids=INCOMPATIBLE)
def test_registry_refuses_an_incompatible_version_with_its_reason(
    schema: dict[str, Any], reason: str, registry: SchemaRegistry, scratch: Scratch
) -> None:
    subject = subject_name(scratch.topic(1), CASE_REPORTED_V1.fullname)
    registry.set_compatibility(subject, COMPATIBILITY)
    registry.register(subject, CASE_REPORTED_V1.schema)

    with pytest.raises(IncompatibleSchema) as caught:
        registry.register(subject, schema)

    assert subject in str(caught.value)
    assert reason in str(caught.value)
    assert registry.versions(subject) == [1]


def test_register_catalog_refuses_an_incompatible_catalog_before_registering_anything(
    registry: SchemaRegistry, tmp_path: Path
) -> None:
    fine, broken = tmp_path / "fine", tmp_path / "broken"
    shutil.copytree(SCHEMA_ROOT / "common", fine / "common")
    shutil.copytree(SCHEMA_ROOT / "events", fine / "events")
    # A new type that sorts first: it would be registered first if the check came late.
    probe = f"AaProbe{uuid.uuid4().hex[:8]}"
    (fine / "events" / probe).mkdir()
    (fine / "events" / probe / "v1.avsc").write_text(json.dumps(_probe_schema(probe)))
    assert check_backward_transitive(load_catalog(fine)) == []  # the probe alone is fine
    shutil.copytree(fine, broken)
    v2_file = json.loads((SCHEMA_ROOT / "events" / "CaseReported" / "v2.avsc").read_text())
    v3_file = _with_fields(v2_file, severity=_severity())
    (broken / "events" / "CaseReported" / "v3.avsc").write_text(json.dumps(v3_file))
    registered: list[Registered] = []

    try:
        with pytest.raises(IncompatibleSchema) as caught:
            register_catalog(registry, load_catalog(broken), progress=registered.append)
    finally:
        delete_subjects(registry.url, lambda subject: subject.endswith(f".{probe}"))

    assert registered == []
    assert "CaseReported: v3 cannot read v2" in str(caught.value)
    assert "severity" in str(caught.value)


def _probe_schema(name: str) -> dict[str, Any]:
    return {
        "type": "record",
        "name": name,
        "namespace": "fengqiao.case",
        "doc": "A probe that must never reach the registry.",
        "fields": [
            {"name": "envelope", "type": "fengqiao.common.Envelope", "doc": "Event metadata."},
        ],
    }
