"""``fengqiao export events|models`` as an analyst runs them: a subprocess on the real stack,
judged by exit code, stderr and the Parquet files read back with pyarrow.

The events tests write a simulated Zhuangshi day as canonical logs under a prefix of their
own; the models tests fill projection schemas of their own with SQL and drop them after.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from psycopg import sql
from psycopg.types.json import Jsonb

from bench.canonical_log import canonical_events, write_canonical_log
from events.codec import AvroCodec
from events.kafka_access import kafka_config
from events.kafka_io import Deliveries, produce
from events.models import Event
from events.registry import SchemaRegistry
from events.topics import CANONICAL
from infra.cli_process import prefixed
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import ensure_topics
from projections.store import create_schema
from projections.tables import READ_MODELS
from projections.versions import mark_ready, new_replay_schema, promote
from simulate.city import CityShape
from tests.integration.helpers import delete_prefixed_topics, registry_fixture  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2025, 6, 2)
# The reference data is defined from 2024-12-01 on, the day's cases run into the next week:
# this period cuts both.
FROM, TO = date(2024, 12, 1), date(2025, 6, 4)
UNREACHABLE_PG = "postgresql://fengqiao:fengqiao@127.0.0.1:1/fengqiao"


def export(
    connection: ConnectionSettings, *args: str | Path, **env: str
) -> subprocess.CompletedProcess[str]:
    """``fengqiao export *args`` (as ``python -m infra.cli``) on the session's stack, other
    ``FQ_*`` settings cleared and ``env`` (``FQ_...``) added."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("FQ_") or k == "FQ_KAFKA_LOCAL_DIR"
    }
    clean.update(
        FQ_KAFKA_BOOTSTRAP=connection.kafka_bootstrap,
        FQ_REGISTRY_URL=connection.registry_url,
        FQ_PG_DSN=connection.pg_dsn.get_secret_value(),
    )
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", "export", *map(str, args)],
        capture_output=True,
        text=True,
        env=clean,
        timeout=300,
        check=False,
        cwd=ROOT,
    )


def _stderr(done: subprocess.CompletedProcess[str]) -> str:
    return re.sub(r"\s+", " ", done.stderr)  # rich wraps long lines


def _fails(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    for text in expected:
        assert text in _stderr(done), done.stderr
    assert "Traceback" not in done.stderr


def _prefix() -> str:
    return f"fqx{uuid.uuid4().hex[:8]}."


_CREATED: list[tuple[str, str]] = []  # (bootstrap, prefix), deleted when the module ends


def _canonical_topics(connection: ConnectionSettings, prefix: str) -> None:
    admin = AdminClient({**kafka_config(connection.kafka_bootstrap)})
    ensure_topics(admin, connection, prefixed(prefix))
    _CREATED.append((connection.kafka_bootstrap, prefix))


@pytest.fixture(autouse=True, scope="module")
def _delete_created_topics() -> Iterator[None]:
    yield
    while _CREATED:
        delete_prefixed_topics(*_CREATED.pop())


# --- events ---------------------------------------------------------------------------------
class Log:
    """A canonical log written under ``prefix``: the events, by stream, in the order written."""

    def __init__(self, prefix: str, events: list[tuple[str, Event]]) -> None:
        self.prefix = prefix
        self.events = events

    def in_period(self, start: date, end: date) -> dict[str, list[Event]]:
        out: dict[str, list[Event]] = {}
        for stream, event in self.events:
            if start <= event.envelope.event_time.astimezone(SHANGHAI).date() < end:
                out.setdefault(stream, []).append(event)
        return out


@pytest.fixture(scope="module")
def log(connection_settings: ConnectionSettings) -> Log:
    """One simulated Zhuangshi day on canonical topics of the module's own."""
    prefix = _prefix()
    _canonical_topics(connection_settings, prefix)
    events = list(canonical_events(CityShape.zhuangshi(), 11, DAY, 1))
    codec = AvroCodec(SchemaRegistry(connection_settings.registry_url), auto_register=True)
    try:
        written = write_canonical_log(
            connection_settings.kafka_bootstrap, codec, iter(events), prefix
        )
    finally:
        codec.registry.close()
    assert written == Counter(stream for stream, _ in events)
    return Log(prefix, events)


def _events_export(
    connection: ConnectionSettings, log: Log, out: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    return export(
        connection,
        "events",
        "--from",
        FROM.isoformat(),
        "--to",
        TO.isoformat(),
        "--out",
        out,
        *args,
        FQ_TOPIC_PREFIX=log.prefix,
    )


def test_events_are_exported_per_stream_for_the_period_in_log_order(
    connection_settings: ConnectionSettings, log: Log, tmp_path: Path
) -> None:
    done = _events_export(connection_settings, log, tmp_path / "out")

    assert done.returncode == 0, done.stderr
    expected = log.in_period(FROM, TO)
    assert set(expected) == {"case", "visit", "reference"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "case-events.parquet",
        "reference-events.parquet",
        "visit-events.parquet",
    ]
    for stream, key in (("case", "case_id"), ("visit", "grid_id"), ("reference", "entity_id")):
        path = tmp_path / "out" / f"{stream}-events.parquet"
        table = pq.read_table(path)
        assert table.num_rows == len(expected[stream])
        assert f"{table.num_rows:,} rows  {path}" in done.stdout
        assert table.schema.field("event_time").type == pa.timestamp("ms", tz="UTC")
        rows = table.to_pylist()
        assert {r["topic"] for r in rows} == {log.prefix + CANONICAL[stream]}
        positions = [(r["partition"], r["offset"]) for r in rows]
        assert positions == sorted(positions) and len(set(positions)) == len(positions)
        by_id = {e.envelope.event_id: e for e in expected[stream]}
        assert sorted(r["event_id"] for r in rows) == sorted(by_id)
        for r in rows:
            event = by_id[r["event_id"]]
            assert r["event_type"] == event.event_type
            assert r["event_time"] == event.envelope.event_time
            assert r[key] == event.key() and r["sequence"] == event.envelope.sequence
            payload = json.loads(r["payload"])
            assert "envelope" not in payload and event.key_field not in payload
    assert "1 undecodable" not in done.stdout and "0 undecodable skipped" in done.stdout


def test_two_exports_of_the_same_log_and_period_are_byte_identical(
    connection_settings: ConnectionSettings, log: Log, tmp_path: Path
) -> None:
    first = _events_export(connection_settings, log, tmp_path / "a")
    second = _events_export(connection_settings, log, tmp_path / "b")

    assert first.returncode == 0 and second.returncode == 0, (first.stderr, second.stderr)
    for name in ("case-events.parquet", "visit-events.parquet", "reference-events.parquet"):
        a, b = tmp_path / "a" / name, tmp_path / "b" / name
        assert pq.read_table(a).equals(pq.read_table(b))
        assert a.read_bytes() == b.read_bytes()


def test_only_the_streams_asked_for_are_exported(
    connection_settings: ConnectionSettings, log: Log, tmp_path: Path
) -> None:
    done = export(
        connection_settings,
        "events",
        "--from",
        DAY.isoformat(),
        "--to",
        "2025-06-03",
        "--out",
        tmp_path / "out",
        "--stream",
        "visit",
        FQ_TOPIC_PREFIX=log.prefix,
    )

    assert done.returncode == 0, done.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["visit-events.parquet"]
    table = pq.read_table(tmp_path / "out" / "visit-events.parquet")
    assert table.num_rows == len(log.in_period(DAY, date(2025, 6, 3))["visit"])


def test_an_undecodable_record_fails_the_export_unless_skipping_is_asked_for(
    connection_settings: ConnectionSettings, tmp_path: Path
) -> None:
    prefix = _prefix()
    _canonical_topics(connection_settings, prefix)
    reference = [(s, e) for s, e in canonical_events(CityShape.zhuangshi(), 3, DAY, 0)][:5]
    codec = AvroCodec(SchemaRegistry(connection_settings.registry_url), auto_register=True)
    topic = prefix + CANONICAL["reference"]
    try:
        write_canonical_log(connection_settings.kafka_bootstrap, codec, iter(reference[:2]), prefix)
        producer = Producer({**kafka_config(connection_settings.kafka_bootstrap)})
        deliveries = Deliveries()
        produce(producer, topic, b"\x07not avro", b"poison", deliveries)
        deliveries.flush(producer, 30, "the poison record")
        write_canonical_log(connection_settings.kafka_bootstrap, codec, iter(reference[2:]), prefix)
    finally:
        codec.registry.close()
    args = ("events", "--from", "2024-01-01", "--to", "2026-01-01", "--stream", "reference")

    failed = export(connection_settings, *args, "--out", tmp_path / "out", FQ_TOPIC_PREFIX=prefix)

    _fails(
        failed,
        "UndecodableRecords: 1 record(s) could not be decoded, so nothing was written",
        f"{topic}[0]@2: magic byte is 7",
    )
    assert not (tmp_path / "out").exists()

    skipped = export(
        connection_settings,
        *args,
        "--out",
        tmp_path / "out",
        "--skip-undecodable",
        FQ_TOPIC_PREFIX=prefix,
    )

    assert skipped.returncode == 0, skipped.stderr
    assert f"skipped undecodable: {topic}[0]@2: magic byte is 7" in _stderr(skipped)
    assert "1 undecodable skipped" in skipped.stdout
    rows = pq.read_table(tmp_path / "out" / "reference-events.parquet").to_pylist()
    assert [r["offset"] for r in rows] == [0, 1, 3, 4, 5]
    assert [r["event_id"] for r in rows] == [e.envelope.event_id for _, e in reference]


def test_only_committed_records_are_exported_as_the_workflow_writes_them(
    connection_settings: ConnectionSettings, registry: SchemaRegistry, tmp_path: Path
) -> None:
    prefix = _prefix()
    _canonical_topics(connection_settings, prefix)
    events = [e for _, e in canonical_events(CityShape.zhuangshi(), 5, DAY, 0)][:4]
    codec = AvroCodec(registry, auto_register=True)
    topic = prefix + CANONICAL["reference"]
    producer = Producer(
        {
            **kafka_config(connection_settings.kafka_bootstrap),
            "transactional.id": f"fqx-export-{uuid.uuid4().hex}",
        }
    )
    producer.init_transactions(30)
    for batch, commit in ((events[:2], True), (events[2:3], False), (events[3:], True)):
        producer.begin_transaction()
        for event in batch:
            value = codec.encode(CANONICAL["reference"], event)
            producer.produce(topic, value, event.key().encode())
        if commit:
            producer.commit_transaction(30)
        else:
            assert producer.flush(30) == 0  # on the log, then aborted: offsets 3 and 4
            producer.abort_transaction(30)

    done = export(
        connection_settings,
        "events",
        "--from",
        "2024-01-01",
        "--to",
        "2026-01-01",
        "--out",
        tmp_path / "out",
        "--stream",
        "reference",
        FQ_TOPIC_PREFIX=prefix,
    )

    assert done.returncode == 0, done.stderr
    rows = pq.read_table(tmp_path / "out" / "reference-events.parquet").to_pylist()
    kept = [events[0], events[1], events[3]]
    assert [r["event_id"] for r in rows] == [e.envelope.event_id for e in kept]
    assert [r["offset"] for r in rows] == [0, 1, 5]  # 2: commit marker, 3: aborted, 4: abort marker
    assert "read 3 records" in done.stdout


def test_events_export_failures_exit_1_naming_the_cause_and_write_nothing(
    connection_settings: ConnectionSettings, log: Log, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    period = ("--from", "2025-06-03", "--to", "2025-06-02")
    backwards = export(connection_settings, "events", *period, "--out", out)
    _fails(backwards, "BadPeriod: --from 2025-06-03 is not before --to 2025-06-02")

    june = ("events", "--from", "2025-06-02", "--to", "2025-06-03", "--out", out)
    missing = f"fqx{uuid.uuid4().hex[:8]}."
    no_topic = export(connection_settings, *june, FQ_TOPIC_PREFIX=missing)
    _fails(no_topic, f"topic {missing}fq.case.events does not exist on Kafka")

    no_kafka = export(
        connection_settings,
        *june,
        FQ_TOPIC_PREFIX=log.prefix,
        FQ_KAFKA_BOOTSTRAP="127.0.0.1:1",
    )
    _fails(no_kafka, "BrokerUnavailable: cannot reach Kafka at 127.0.0.1:1 (FQ_KAFKA_BOOTSTRAP)")

    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    unwritable = _events_export(connection_settings, log, a_file)
    _fails(unwritable, f"OutputNotWritable: cannot write the export to {a_file}: it is not a dir")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]


# --- read models ----------------------------------------------------------------------------
def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# reported_at around the local midnight that starts 2025-04-01 (16:00 UTC the day before)
CASES = [  # (case_id, reported_at UTC, satisfaction, on_time, handling_hours)
    ("c-3", _utc("2025-03-31T16:30:00"), 5, True, 2.5),  # 2025-04-01 00:30 local
    ("c-1", _utc("2025-03-31T15:59:59.999"), None, None, None),  # 2025-03-31 23:59 local
    ("c-4", _utc("2025-04-01T16:00:00"), 1, False, 40.25),  # 2025-04-02 00:00 local
    ("c-2", _utc("2025-04-01T15:59:00"), 3, True, 0.5),  # 2025-04-01 23:59 local
]
STATS = [
    ("grid", "g-1", date(2025, 4, 1)),
    ("district", "d-1", date(2025, 3, 31)),
    ("district", "d-1", date(2025, 4, 1)),
    ("grid", "g-1", date(2025, 4, 2)),
]
CHECKPOINTS = [  # (topic, partition, max_event_time, caught_up)
    ("x.fq.case.events", 0, _utc("2025-04-01T08:00:00"), True),
    ("x.fq.case.events", 1, _utc("2025-04-01T09:30:00"), True),
    ("x.fq.visit.events", 0, _utc("2025-04-01T07:00:00"), False),
]


def _fill(conn: psycopg.Connection[Any], schema: str) -> None:
    create_schema(conn, schema)
    for case_id, reported_at, satisfaction, on_time, hours in CASES:
        conn.execute(
            "INSERT INTO cases (case_id, status, category_code, priority, channel, title, "
            "grid_id, reporter_id, reporter_role, reported_at, satisfaction, on_time, "
            "handling_hours, transfers) VALUES (%s, 'closed', 'road', 'normal', 'gridapp', "
            "'路面破损', 'g-1', 'w-1', 'grid_worker', %s, %s, %s, %s, 0)",
            (case_id, reported_at, satisfaction, on_time, hours),
        )
    for level, code, day in STATS:
        conn.execute(
            "INSERT INTO stats_daily (level, code, day, reported) VALUES (%s, %s, %s, 2)",
            (level, code, day),
        )
    for topic, partition, latest, caught_up in CHECKPOINTS:
        conn.execute(
            "INSERT INTO checkpoints (topic, partition, next_offset, max_event_time, caught_up) "
            "VALUES (%s, %s, 10, %s, %s)",
            (topic, partition, latest, caught_up),
        )
    conn.commit()


@pytest.fixture
def db(connection_settings: ConnectionSettings) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(connection_settings.pg_dsn.get_secret_value()) as conn:
        yield conn


@pytest.fixture
def schemas(
    db: psycopg.Connection[Any], unique_name: Callable[[str], str]
) -> Iterator[Callable[[], str]]:
    """A factory of filled projection schemas, each dropped (and unregistered) at the end."""
    made: list[str] = []

    def make() -> str:
        name = unique_name("fqx")
        made.append(name)
        _fill(db, name)
        return name

    yield make
    db.rollback()
    (meta,) = db.execute("SELECT to_regclass('fq_meta.active_projection')").fetchone() or (None,)
    for name in made:
        if meta is not None:
            for table in ("active_projection", "projection_schemas"):
                db.execute(
                    sql.SQL("DELETE FROM fq_meta.{} WHERE schema_name = %s").format(
                        sql.Identifier(table)
                    ),
                    (name,),
                )
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
    db.commit()


def test_models_are_exported_typed_in_key_order_for_the_period(
    connection_settings: ConnectionSettings, schemas: Callable[[], str], tmp_path: Path
) -> None:
    schema = schemas()
    out = tmp_path / "out"

    done = export(
        connection_settings,
        "models",
        "--out",
        out,
        "--schema",
        schema,
        "--tables",
        "cases,stats_daily,deadlines",
        "--from",
        "2025-04-01",
        "--to",
        "2025-04-02",
    )

    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "cases.parquet",
        "deadlines.parquet",
        "freshness.json",
        "stats_daily.parquet",
    ]
    cases = pq.read_table(out / "cases.parquet")
    types = {f.name: f.type for f in cases.schema}
    assert types["reported_at"] == pa.timestamp("ms", tz="UTC")
    assert (types["satisfaction"], types["transfers"]) == (pa.int64(), pa.int64())
    assert (types["handling_hours"], types["on_time"]) == (pa.float64(), pa.bool_())
    assert (types["title"], types["closed_at"]) == (pa.string(), pa.timestamp("ms", tz="UTC"))
    assert not cases.schema.field("case_id").nullable
    rows = cases.select(["case_id", "reported_at", "satisfaction", "on_time", "handling_hours"])
    assert [tuple(r.values()) for r in rows.to_pylist()] == [  # 2025-04-01 local, by case id
        (c, at, s, t, h) for c, at, s, t, h in sorted(CASES) if c in ("c-2", "c-3")
    ]
    assert cases.column("title").to_pylist() == ["路面破损", "路面破损"]
    stats = pq.read_table(out / "stats_daily.parquet")
    assert stats.schema.field("day").type == pa.date32()
    assert stats.select(["level", "code", "day"]).to_pylist() == [
        {"level": level, "code": code, "day": day}
        for level, code, day in sorted(STATS)
        if day == date(2025, 4, 1)
    ]
    assert pq.read_table(out / "deadlines.parquet").num_rows == 0  # whole table, empty
    assert "whole tables (no period column): deadlines\n" in done.stdout
    freshness = json.loads((out / "freshness.json").read_text())
    assert (freshness["schema"], freshness["period"]) == (
        schema,
        {"from": "2025-04-01", "to": "2025-04-02"},
    )
    assert freshness["tables"]["cases"] == {
        "sources": ["case"],
        "max_event_time": "2025-04-01T09:30:00.000Z",
        "caught_up": True,
        "complete_to": "2025-04-01T09:30:00.000Z",
        "period_column": "reported_at",
        "rows": 2,
    }
    daily = freshness["tables"]["stats_daily"]
    assert (daily["max_event_time"], daily["caught_up"]) == ("2025-04-01T09:30:00.000Z", False)
    assert daily["complete_to"] == "2025-04-01T07:00:00.000Z"  # visits still being read
    assert freshness["tables"]["deadlines"]["period_column"] is None


def test_the_active_schema_is_exported_whole_by_default_and_identically_twice(
    connection_settings: ConnectionSettings,
    db: psycopg.Connection[Any],
    schemas: Callable[[], str],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    schema = schemas()
    projection = unique_name("p")[:31]
    db.execute(
        f'INSERT INTO "{schema}".visit_tracks VALUES (%s, %s, %s, %s, %s, %s, %s)',
        (
            "v-1",
            "w-1",
            "2025-04-01",
            "g-1",
            Jsonb([[121.5, 29.9, "2025-04-01T07:00:00+00:00"]]),
            ["road"],
            ["c-1"],
        ),
    )
    new_replay_schema(db, projection, None, schema)
    mark_ready(db, schema)
    promote(db, projection, schema)
    db.commit()

    first, second = (
        export(connection_settings, "models", "--out", tmp_path / d, FQ_PROJECTION=projection)
        for d in ("a", "b")
    )

    assert first.returncode == 0 and second.returncode == 0, (first.stderr, second.stderr)
    assert f"schema {schema}" in first.stdout
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(names) == len(READ_MODELS) + 1  # and freshness.json
    assert {
        "hot_words.parquet",
        "units.parquet",
        "visit_tracks.parquet",
        "rejections.parquet",
    } <= set(names)
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    cases = pq.read_table(tmp_path / "a" / "cases.parquet")
    assert cases.column("case_id").to_pylist() == ["c-1", "c-2", "c-3", "c-4"]
    freshness = json.loads((tmp_path / "a" / "freshness.json").read_text())
    assert (freshness["projection"], freshness["schema"]) == (projection, schema)
    assert freshness["tables"]["visits"]["max_event_time"] == "2025-04-01T07:00:00.000Z"
    tracks = pq.read_table(tmp_path / "a" / "visit_tracks.parquet").to_pylist()
    assert [
        (json.loads(t["points"]), t["items_checked"], t["finding_case_ids"]) for t in tracks
    ] == [([[121.5, 29.9, "2025-04-01T07:00:00+00:00"]], ["road"], ["c-1"])]


def test_models_export_failures_exit_1_naming_the_cause_and_write_nothing(
    connection_settings: ConnectionSettings,
    schemas: Callable[[], str],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    schema = schemas()
    out = tmp_path / "out"

    def models(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return export(connection_settings, "models", "--out", out, *args, **env)

    _fails(
        models("--schema", schema, "--from", "2025-04-02", "--to", "2025-04-01"),
        "BadPeriod: --from 2025-04-02 is not before --to 2025-04-01",
    )
    _fails(
        models("--schema", schema, "--from", "2025-04-02"),
        "BadPeriod: give --from and --to together",
    )
    _fails(
        models("--schema", schema, "--tables", "cases,casez"),
        f"UnknownTable: unknown table(s) casez; the read models are: {', '.join(READ_MODELS)}",
    )
    _fails(
        models("--schema", "fqx_no_such_schema"),
        "UnknownProjection: schema fqx_no_such_schema does not exist; existing projection schemas:",
    )
    _fails(models("--schema", "public"), "schema public is not a projection schema")
    projection = unique_name("p")[:31]
    _fails(
        models(FQ_PROJECTION=projection),
        f"projection {projection} (FQ_PROJECTION) has no active schema",
    )
    _fails(
        models("--schema", schema, FQ_PG_DSN=UNREACHABLE_PG),
        "ProjectionStoreError: cannot connect to PostgreSQL",
        "port 1",
    )
    assert not out.exists()
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    _fails(
        export(connection_settings, "models", "--out", a_file / "sub", "--schema", schema),
        f"OutputNotWritable: cannot write the export to {a_file / 'sub'}",
    )
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]
