"""Schema evolution: the shipped catalog is BACKWARD_TRANSITIVE, and breakage is reported.

Also the catalog loader's own errors, on deliberately broken trees written into tmp_path.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
from pathlib import Path
from typing import Any

import fastavro
import pytest

from events.models import from_avro, to_avro
from schemas.catalog import SCHEMA_ROOT, load_catalog
from schemas.compatibility import assert_backward_transitive, check_backward_transitive, check_pair
from schemas.errors import IncompatibleSchema, SchemaFileError
from tests.factories import example_event

CATALOG = load_catalog()
V1, V2 = (v.schema for v in CATALOG.versions("CaseReported")[:2])


def test_shipped_catalog_is_backward_transitive() -> None:
    assert check_backward_transitive(CATALOG) == []
    assert_backward_transitive(CATALOG)


def test_case_reported_has_real_later_versions() -> None:
    assert [v.version for v in CATALOG.versions("CaseReported")] == [1, 2, 3]
    assert CATALOG.current("CaseReported").version == 3
    assert CATALOG.by_fullname("fengqiao.case.CaseReported").version == 3
    added = {f["name"] for f in V2["fields"]} - {f["name"] for f in V1["fields"]}
    assert added == {"attachments_count"}
    v3 = CATALOG.current("CaseReported").schema
    assert {f["name"] for f in v3["fields"]} - {f["name"] for f in V2["fields"]} == {"reporter"}


def _write_read(writer: dict[str, Any], reader: dict[str, Any], datum: dict[str, Any]) -> Any:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(writer), datum)
    buffer.seek(0)
    return fastavro.schemaless_reader(
        buffer, fastavro.parse_schema(writer), fastavro.parse_schema(reader)
    )


def test_old_writer_new_reader_gets_the_default() -> None:
    datum = to_avro(example_event("CaseReported"))
    del datum["attachments_count"]
    assert _write_read(V1, V2, datum)["attachments_count"] == 0


def test_new_writer_old_reader_drops_the_new_field() -> None:
    datum = to_avro(example_event("CaseReported", attachments_count=3))
    record = _write_read(V2, V1, datum)
    assert "attachments_count" not in record
    assert record["title"] == datum["title"]


PLACE_V1, PLACE_V2 = (v.schema for v in CATALOG.versions("PlaceDefined"))


def test_place_defined_v2_adds_only_an_optional_boundary() -> None:
    assert CATALOG.current("PlaceDefined").version == 2
    added = [
        f for f in PLACE_V2["fields"] if f["name"] not in {g["name"] for g in PLACE_V1["fields"]}
    ]
    assert [(f["name"], f["default"]) for f in added] == [("boundary", None)]


def test_a_place_written_with_v1_reads_with_no_boundary() -> None:
    datum = to_avro(example_event("PlaceDefined"))
    del datum["boundary"]
    record = _write_read(PLACE_V1, PLACE_V2, datum)
    assert record["boundary"] is None
    assert from_avro("PlaceDefined", record) == example_event(
        "PlaceDefined", boundary=None, envelope=record["envelope"]
    )


def test_a_place_written_with_v2_reads_in_v1_without_its_boundary() -> None:
    datum = to_avro(example_event("PlaceDefined"))
    record = _write_read(PLACE_V2, PLACE_V1, datum)
    assert "boundary" not in record and record["code"] == datum["code"]


def _field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def test_new_required_field_is_reported() -> None:
    reader = copy.deepcopy(V2)
    reader["fields"].append({"name": "district_code", "type": "string", "doc": "d"})
    [problem] = check_pair(reader, V1)
    assert problem.startswith("district_code: reader_field_missing_default_value")


def test_type_change_is_reported() -> None:
    reader = copy.deepcopy(V2)
    _field(reader, "grid_id")["type"] = "int"
    [problem] = check_pair(reader, V1)
    assert problem.startswith("grid_id: type_mismatch")
    assert "int" in problem and "string" in problem


def test_removed_enum_symbol_is_reported_in_a_nested_record() -> None:
    reader = copy.deepcopy(V2)
    role = _field(_field(reader, "envelope")["type"], "actor")["type"]["fields"][1]["type"]
    role["symbols"].remove("resident")
    [problem] = check_pair(reader, V1)
    assert problem.startswith("envelope.actor.role: missing_enum_symbols")
    assert "resident" in problem


def test_union_change_is_located_despite_the_checker() -> None:
    reader = copy.deepcopy(V2)
    _field(reader, "location")["type"] = "string"
    problems = check_pair(reader, V1)
    assert problems and all(p.startswith("location: type_mismatch") for p in problems)


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMA_ROOT / "common", root / "common")
    shutil.copytree(SCHEMA_ROOT / "events", root / "events")
    return root


def test_catalog_reports_each_problem(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    v3 = copy.deepcopy(V2)
    v3["fields"][0]["type"] = "fengqiao.common.Envelope"
    v3["fields"].append({"name": "district_code", "type": "string", "doc": "d"})
    (root / "events/CaseReported/v3.avsc").write_text(json.dumps(v3))
    problems = check_backward_transitive(load_catalog(root))
    assert any("CaseReported: v3 cannot read v1: district_code" in p for p in problems)
    assert any("CaseReported: v3 cannot read v2: district_code" in p for p in problems)
    assert "CaseReported: v3 adds field 'district_code' without a default" in problems
    with pytest.raises(IncompatibleSchema, match="district_code"):
        assert_backward_transitive(load_catalog(root))


def _break(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _mutated(relative: str, change: Any) -> str:
    data = json.loads((SCHEMA_ROOT / relative).read_text(encoding="utf-8"))
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("relative", "text", "message"),
    [
        ("events/CaseClosed/v1.avsc", "{not json", "not valid JSON"),
        ("events/CaseClosed/v1.avsc", '["null", "string"]', "not a named Avro type"),
        (
            "events/CaseClosed/v1.avsc",
            _mutated("events/CaseClosed/v1.avsc", lambda d: d.update(name="CaseShut")),
            "named CaseClosed",
        ),
        (
            "events/CaseClosed/v1.avsc",
            _mutated("events/CaseClosed/v1.avsc", lambda d: d["fields"][1].pop("doc")),
            "case_id: field has no doc",
        ),
        (
            "common/Actor.avsc",
            _mutated("common/Actor.avsc", lambda d: d["fields"][0].pop("doc")),
            "Actor.id: field has no doc",
        ),
        (
            "events/CaseClosed/v1.avsc",
            _mutated(
                "events/CaseClosed/v1.avsc",
                lambda d: d["fields"][1].update(type="fengqiao.common.Nope"),
            ),
            "unknown named type 'fengqiao.common.Nope'",
        ),
        (
            "events/CaseClosed/v1.avsc",
            _mutated("events/CaseClosed/v1.avsc", lambda d: d.update(namespace="fengqiao.other")),
            "namespace",
        ),
        (
            "events/CaseClosed/v1.avsc",
            _mutated("events/CaseClosed/v1.avsc", lambda d: d["fields"].pop(0)),
            "first field must be envelope",
        ),
        (
            "events/CaseClosed/v1.avsc",
            _mutated("events/CaseClosed/v1.avsc", lambda d: d["fields"][1].update(default=5)),
            "not a valid Avro schema",
        ),
        (
            "events/CaseClosed/v3.avsc",
            (SCHEMA_ROOT / "events/CaseClosed/v1.avsc").read_text(encoding="utf-8"),
            "version gap",
        ),
        ("events/CaseClosed/notes.txt", "hello", "not a version file"),
    ],
)
def test_catalog_errors_name_the_file(
    tmp_path: Path, relative: str, text: str, message: str
) -> None:
    root = _tree(tmp_path)
    path = _break(root, relative, text)
    with pytest.raises(SchemaFileError) as caught:
        load_catalog(root)
    assert message in str(caught.value)
    assert str(path if "gap" not in message else path.parent) in str(caught.value)
