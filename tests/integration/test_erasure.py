"""Residents' personal data, erasable: after ``fengqiao erase`` nothing of that person can be
read anywhere (the log, the read models, an export), the others' data still opens, and a
replay of the same log still rebuilds every read model.

The log is a simulated Zhuangshi day whose first reports carry their reporters' details,
sealed with each reporter's own key in a key store of the test's own (FQ_PRIVACY_SCHEMA).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pyarrow.parquet as pq
import pytest
from confluent_kafka import TopicPartition
from psycopg import sql
from psycopg_pool import ConnectionPool

from bench.canonical_log import canonical_events
from events.kafka_io import reader
from events.models import CaseReported, Event, PersonalData, PersonalDataErased
from events.subject_keys import SubjectKeys
from events.topics import REFERENCE_INBOX
from projections.tables import READ_MODELS
from simulate.city import CityShape
from tests.integration.projection_helpers import ProjectionWorld, checksums

pytestmark = pytest.mark.integration

DAY = date(2025, 6, 2)
ERASED, KEPT = "resident-erased", "resident-kept"
PEOPLE = {
    ERASED: {"name": "王小明", "phone": "13800138000", "id_number": "330203199001011234"},
    KEPT: {"name": "李四海", "phone": "13900139000", "id_number": "330203198502021111"},
}


@pytest.fixture
def world(connection_settings: Any, unique_name: Any) -> Iterator[ProjectionWorld]:
    w = ProjectionWorld(connection_settings, unique_name("erase"))
    yield w
    w.cleanup()


def _with_reporters(keys: SubjectKeys, events: list[tuple[str, Event]]) -> list[tuple[str, Event]]:
    """The log with its first six reports naming a reporter, three each."""
    subjects = [ERASED, KEPT] * 3
    out = []
    for stream, event in events:
        if subjects and isinstance(event, CaseReported):
            subject = subjects.pop()
            event = event.model_copy(update={"reporter": keys.seal(subject, PEOPLE[subject])})
        out.append((stream, event))
    assert not subjects
    return out


def _records(world: ProjectionWorld, topic: str) -> list[tuple[int, int, bytes]]:
    """(partition, offset, value) of every record of ``topic``, partition by partition."""
    consumer = reader(world.connection.kafka_bootstrap, "erasure-scan")
    out = []
    try:
        for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, p, low)])
            while True:
                msg = consumer.poll(10)
                assert msg is not None, f"{topic}[{p}] ended before offset {high}"
                if msg.error() is None:
                    out.append((p, msg.offset(), msg.value() or b""))
                if msg.offset() >= high - 1:
                    break
        return out
    finally:
        consumer.close()


def _raw_records(world: ProjectionWorld) -> list[bytes]:
    """Every record's value on every topic of the world's prefix."""
    consumer = reader(world.connection.kafka_bootstrap, "erasure-topics")
    try:
        topics = [t for t in consumer.list_topics(timeout=10).topics if t.startswith(world.prefix)]
    finally:
        consumer.close()
    return [value for topic in topics for _, _, value in _records(world, topic)]


def _read_models_text(conn: psycopg.Connection[Any], schema: str) -> str:
    rows = []
    for table in READ_MODELS:
        query = sql.SQL("SELECT t::text FROM {}.{} t").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        rows += [r[0] for r in conn.execute(query)]
    return "\n".join(rows)


def _in_clear(person: dict[str, str], haystacks: list[bytes]) -> list[str]:
    return [v for v in person.values() for h in haystacks if v.encode() in h]


def test_an_erased_person_can_be_read_nowhere_and_replay_still_rebuilds(
    world: ProjectionWorld, tmp_path: Path
) -> None:
    keys_schema = f"{world.name}_keys"[:60]
    world.schemas.append(keys_schema)  # dropped with the world
    pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
        world.connection.pg_dsn.get_secret_value(), min_size=1, max_size=2
    )
    with pool:
        _erase_and_replay(world, tmp_path, SubjectKeys(pool, keys_schema), keys_schema)


def _erase_and_replay(
    world: ProjectionWorld, tmp_path: Path, keys: SubjectKeys, keys_schema: str
) -> None:
    events = _with_reporters(keys, list(canonical_events(CityShape.zhuangshi(), 5, DAY, 1)))
    world.write(events)
    live = world.live_schema()
    world.project(live)
    exported = world.fengqiao(
        "export", "events", "--from", "2024-12-01", "--to", "2025-06-10", "--out", str(tmp_path)
    )
    assert exported.returncode == 0, exported.stderr
    sealed = [e.reporter for _, e in events if isinstance(e, CaseReported) and e.reporter]
    assert len(sealed) == 6

    # Before: the details open with the store's keys, and are nowhere in clear.
    assert {keys.open(s)["phone"] for s in sealed} == {p["phone"] for p in PEOPLE.values()}  # type: ignore[index]
    export_files = [f.read_bytes() for f in tmp_path.rglob("*.parquet")]
    assert export_files
    with world.conn() as conn:
        before = checksums(conn, live)
        models = _read_models_text(conn, live).encode()
    for person in PEOPLE.values():
        assert not _in_clear(person, [*_raw_records(world), models, *export_files])

    erased = world.fengqiao(
        "erase", ERASED, "--reason", "the resident's request, ref. NB-1", "--by", "op-7",
        FQ_PRIVACY_SCHEMA=keys_schema,
    )  # fmt: skip
    assert erased.returncode == 0, erased.stderr
    assert "deleted 1 key(s)" in erased.stderr

    # After: none of the erased person's sealed details opens, from the log or the export;
    # the other person's still do.
    from_log = [
        e.reporter
        for e in _decoded(world, "case")
        if isinstance(e, CaseReported) and e.reporter is not None
    ]
    from_export = _sealed_in_export(tmp_path)
    assert len(from_log) == len(from_export) == 6
    for data in [*from_log, *from_export]:
        opened = keys.open(data)
        if data.subject_id == ERASED:
            assert opened is None
        else:
            assert opened == PEOPLE[KEPT]

    # The audit event is on the reference inbox, naming the subject and the keys deleted.
    [audit] = [e for e in _decoded(world, "reference_inbox") if isinstance(e, PersonalDataErased)]
    assert (audit.subject_id, audit.keys_deleted) == (ERASED, 1)

    # Asked again: nothing more to delete, one more audit record.
    again = world.fengqiao(
        "erase", ERASED, "--reason", "asked again", "--by", "op-7", FQ_PRIVACY_SCHEMA=keys_schema
    )
    assert again.returncode == 0 and "deleted 0 key(s)" in again.stderr, again.stderr

    # Replay after the erasure rebuilds every read model as it was.
    rebuilt = world.new_schema("replayed")
    world.project(rebuilt)
    with world.conn() as conn:
        assert checksums(conn, rebuilt) == before


def test_erase_without_a_reachable_key_store_fails_naming_it(world: ProjectionWorld) -> None:
    done = world.fengqiao(
        "erase", ERASED, "--reason", "r", "--by", "op-7",
        FQ_PG_DSN="postgresql://fengqiao:fengqiao@127.0.0.1:1/fengqiao",
    )  # fmt: skip
    assert done.returncode == 1
    assert "the key store (PostgreSQL, FQ_PG_DSN) did not answer" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr


def _decoded(world: ProjectionWorld, which: str) -> list[Event]:
    topic = world.prefix + (REFERENCE_INBOX if which == "reference_inbox" else "fq.case.events")
    return [world.codec.decode(v, topic, p, o) for p, o, v in _records(world, topic)]


def _sealed_in_export(folder: Path) -> list[PersonalData]:
    found = []
    for path in folder.rglob("*.parquet"):
        for row in pq.read_table(path).to_pylist():
            payload = row.get("payload")
            if row.get("event_type") == "CaseReported" and payload:
                reporter = json.loads(payload).get("reporter")
                if reporter:
                    found.append(PersonalData.model_validate(reporter))
    return found
