"""The pure parts of the Parquet export: a datum flattened to a row, its payload as
deterministic JSON, the period on Asia/Shanghai dates, table selection and types, and the
writing of files (row groups, byte-identical repeats, nothing left when an export fails)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from events.models import Event, to_avro
from projections.export_events import KEY_COLUMN, STREAMS, event_row, event_schema
from projections.export_files import (
    BadPeriod,
    ExportError,
    ExportFiles,
    OutputNotWritable,
    Period,
    payload_json,
)
from projections.export_models import PERIOD_COLUMNS, UnknownTable, arrow_schema, select_tables
from projections.tables import READ_MODELS, TABLES
from tests.factories import example_event

CST = timezone(timedelta(hours=8))


def _row(event: Event) -> dict[str, Any]:
    stream = event.stream
    return event_row(stream, f"fq.{stream}.events", 3, 41, event.event_type, to_avro(event))


# --- flattening ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "event_type", ["CaseReported", "VisitRecorded", "PlaceDefined", "WorkerAssigned"]
)
def test_a_datum_becomes_a_row_of_its_streams_columns(event_type: str) -> None:
    event = example_event(event_type)
    row = _row(event)
    assert list(row) == event_schema(event.stream).names
    env = event.envelope
    assert row["topic"] == f"fq.{event.stream}.events"
    assert (row["partition"], row["offset"], row["event_type"]) == (3, 41, event_type)
    assert (row["event_id"], row["event_time"], row["recorded_time"]) == (
        env.event_id,
        env.event_time,
        env.recorded_time,
    )
    assert (row["actor_id"], row["actor_role"]) == (env.actor.id, env.actor.role.value)
    assert (row["source_system"], row["sequence"]) == (env.source_system, env.sequence)
    assert (row["correlation_id"], row["causation_id"]) == (env.correlation_id, env.causation_id)
    assert row[KEY_COLUMN[event.stream]] == event.key()
    payload = json.loads(row["payload"])
    fields = set(type(event).model_fields) - {"envelope", event.key_field}
    assert set(payload) == fields  # every other field, and neither the envelope nor the key


def test_the_column_set_does_not_depend_on_the_event_type() -> None:
    for stream in STREAMS:
        assert event_schema(stream).names[-1] == "payload"
    reported, closed = _row(example_event("CaseReported")), _row(example_event("CaseClosed"))
    assert list(reported) == list(closed)
    assert json.loads(reported["payload"]).keys() != json.loads(closed["payload"]).keys()


def test_rows_fit_their_schema() -> None:
    for event_type in ("CaseReported", "VisitRecorded", "PlaceDefined"):
        event = example_event(event_type)
        row = _row(event)
        schema = event_schema(event.stream)
        table = pa.Table.from_pylist([row], schema=schema)
        assert table.to_pylist()[0]["payload"] == row["payload"]


# --- payload JSON ---------------------------------------------------------------------------
def test_payload_json_does_not_depend_on_key_order() -> None:
    a = {"b": 1, "a": {"y": [1, 2], "x": None}, "c": "庄市"}
    b = {"c": "庄市", "a": {"x": None, "y": [1, 2]}, "b": 1}
    assert payload_json(a) == payload_json(b) == '{"a":{"x":null,"y":[1,2]},"b":1,"c":"庄市"}'


def test_payload_json_writes_instants_as_utc_iso_millis_and_dates_as_iso() -> None:
    fields = {
        "at": datetime(2025, 6, 2, 9, 30, 0, 123000, tzinfo=CST),
        "whole": datetime(2025, 6, 2, 1, 30, tzinfo=UTC),
        "day": date(2025, 6, 2),
        "days": (date(2025, 1, 1),),
    }
    assert json.loads(payload_json(fields)) == {
        "at": "2025-06-02T01:30:00.123Z",
        "whole": "2025-06-02T01:30:00.000Z",
        "day": "2025-06-02",
        "days": ["2025-01-01"],
    }


def test_payload_json_refuses_what_is_not_an_avro_value() -> None:
    with pytest.raises(TypeError, match="naive"):
        payload_json({"at": datetime(2025, 6, 2)})
    with pytest.raises(TypeError, match="set"):
        payload_json({"x": {1}})


# --- the period -----------------------------------------------------------------------------
def test_the_period_is_local_dates_in_shanghai_across_the_utc_boundary() -> None:
    april = Period(date(2025, 4, 1), date(2025, 4, 2))
    march_31 = Period(date(2025, 3, 31), date(2025, 4, 1))
    instant = datetime(2025, 3, 31, 16, 30, tzinfo=UTC)  # 2025-04-01 00:30 in Shanghai
    assert april.contains(instant)
    assert not march_31.contains(instant)
    last_of_march = datetime(2025, 3, 31, 15, 59, 59, 999000, tzinfo=UTC)
    assert march_31.contains(last_of_march) and not april.contains(last_of_march)
    assert april.utc_start == datetime(2025, 3, 31, 16, 0, tzinfo=UTC)
    assert april.utc_end == datetime(2025, 4, 1, 16, 0, tzinfo=UTC)
    assert not april.contains(april.utc_end)  # the end is exclusive


def test_a_period_must_run_forwards() -> None:
    with pytest.raises(BadPeriod, match="--from 2025-06-03 is not before --to 2025-06-02"):
        Period(date(2025, 6, 3), date(2025, 6, 2))
    with pytest.raises(BadPeriod, match="not before"):
        Period(date(2025, 6, 2), date(2025, 6, 2))


def test_an_optional_period_needs_both_ends_or_neither() -> None:
    assert Period.optional(None, None) is None
    june_2 = Period(date(2025, 6, 2), date(2025, 6, 3))
    assert Period.optional(date(2025, 6, 2), date(2025, 6, 3)) == june_2
    with pytest.raises(BadPeriod, match="together"):
        Period.optional(date(2025, 6, 2), None)


# --- tables ---------------------------------------------------------------------------------
def test_tables_are_chosen_by_name_once_each_or_all() -> None:
    assert select_tables(None) == list(TABLES)
    assert [t.name for t in select_tables(["visits", "cases", "visits"])] == ["visits", "cases"]


def test_an_unknown_table_is_named_with_the_known_ones() -> None:
    with pytest.raises(UnknownTable) as caught:
        select_tables(["cases", "casez"])
    message = str(caught.value)
    assert "casez" in message and all(name in message for name in READ_MODELS)


def test_every_read_model_column_has_its_arrow_type() -> None:
    expected = {
        "text": pa.string(),
        "bigint": pa.int64(),
        "integer": pa.int32(),
        "double precision": pa.float64(),
        "boolean": pa.bool_(),
        "timestamptz": pa.timestamp("ms", tz="UTC"),
        "date": pa.date32(),
        "text[]": pa.list_(pa.string()),
        "jsonb": pa.string(),
    }
    for table in TABLES:
        schema = arrow_schema(table)
        assert schema.names == list(table.column_names)
        for name, sql_type in table.columns:
            assert schema.field(name).type == expected[sql_type]
            assert schema.field(name).nullable == (name not in table.key)


def test_period_columns_are_dates_or_instants_of_their_tables() -> None:
    for table, column in PERIOD_COLUMNS.items():
        assert dict(READ_MODELS[table].columns)[column] in {"date", "timestamptz"}


# --- writing --------------------------------------------------------------------------------
_SCHEMA = pa.schema([("n", pa.int64()), ("at", pa.timestamp("ms", tz="UTC"))])


def _write(out: Path, rows: int, row_group: int = 4) -> Path:
    start = datetime(2025, 6, 2, tzinfo=UTC)
    with ExportFiles(out, row_group) as outputs:
        sink = outputs.parquet("numbers.parquet", _SCHEMA)
        for n in range(rows):
            sink.add((n, start + timedelta(milliseconds=n)))
        outputs.json("about.json", {"rows": rows})
        outputs.commit()
    return out / "numbers.parquet"


def test_files_are_written_in_row_groups_and_byte_identical_when_repeated(tmp_path: Path) -> None:
    first, second = _write(tmp_path / "a", 10), _write(tmp_path / "b", 10)
    assert first.read_bytes() == second.read_bytes()
    meta = pq.ParquetFile(first).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [4, 4, 2]
    assert pq.read_table(first).column("n").to_pylist() == list(range(10))
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["about.json", "numbers.parquet"]


def test_a_failed_export_leaves_nothing_not_even_the_directory_it_made(tmp_path: Path) -> None:
    out = tmp_path / "new" / "dir"
    with pytest.raises(RuntimeError), ExportFiles(out, 4) as outputs:
        sink = outputs.parquet("numbers.parquet", _SCHEMA)
        sink.add((1, datetime(2025, 6, 2, tzinfo=UTC)))
        outputs.json("about.json", {})
        assert (out / "numbers.parquet.partial").exists()
        raise RuntimeError("the export fails")
    assert not out.exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "other.txt").write_text("mine")
    with pytest.raises(RuntimeError), ExportFiles(kept, 4) as outputs:
        outputs.parquet("numbers.parquet", _SCHEMA)
        raise RuntimeError("the export fails")
    assert [p.name for p in kept.iterdir()] == ["other.txt"]


def test_an_instant_finer_than_a_millisecond_is_refused_not_cut(tmp_path: Path) -> None:
    refused = pytest.raises(ExportError, match="numbers.parquet: column at")
    with refused, ExportFiles(tmp_path, 4) as outputs:
        sink = outputs.parquet("numbers.parquet", _SCHEMA)
        sink.add((1, datetime(2025, 6, 2, 0, 0, 0, 1, tzinfo=UTC)))
        outputs.commit()
    assert list(tmp_path.iterdir()) == []


def test_an_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(OutputNotWritable, match="not a directory"):
        ExportFiles(file, 4)
    with pytest.raises(OutputNotWritable, match="cannot write the export to"):
        ExportFiles(file / "sub", 4)
