"""The local stack on real services: idempotent ``up``, health, topics as declared, mismatches
reported, a registry that behaves like Confluent's, and data that survives ``down`` + ``up``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

# confluent_kafka.admin re-exports these without marking them public.
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    NewTopic,
    OffsetSpec,
)
from typer.testing import CliRunner

from events.errors import BrokerUnavailable, TopicMismatch
from events.kafka_access import kafka_config
from events.kafka_io import Deliveries, produce
from infra.settings import ConnectionSettings, StackSettings
from infra.stack import down, ensure_topics, status, up
from infra.stack.registry import COMPATIBILITY
from infra.stack.topics_admin import admin_client, delete_topics_starting, wait_until_writable
from infra.stack_cli import app
from infra.topics import KEEP_FOREVER, TOPICS, TopicSpec

pytestmark = pytest.mark.integration
local_stack = pytest.mark.local_stack
AVRO = "application/vnd.schemaregistry.v1+json"


@pytest.fixture
def admin(connection_settings: ConnectionSettings) -> AdminClient:
    # Held by the test: a client collected while its futures are pending cancels them.
    return admin_client(connection_settings.kafka_bootstrap)


@pytest.fixture
def scratch_topics(admin: AdminClient) -> Iterator[list[str]]:
    """Names appended here are deleted after the test, so scratch topics do not pile up."""
    names: list[str] = []
    yield names
    if names:
        for future in admin.delete_topics(names).values():
            future.result()


@pytest.fixture
def scratch_subjects(connection_settings: ConnectionSettings) -> Iterator[list[str]]:
    """Registry subjects appended here are deleted (soft, then permanently) after the test."""
    subjects: list[str] = []
    yield subjects
    for subject in subjects:
        for params in ({}, {"permanent": "true"}):
            url = f"{connection_settings.registry_url}/subjects/{subject}"
            httpx.delete(url, params=params, timeout=10).raise_for_status()


def _create_topic(admin: AdminClient, name: str, partitions: int, config: dict[str, str]) -> None:
    admin.create_topics([NewTopic(name, partitions, 1, config=config)])[name].result()


def _topic_configs(admin: AdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names]
    futures = admin.describe_configs(resources)
    return {r.name: {k: e.value for k, e in f.result().items()} for r, f in futures.items()}


@local_stack
def test_second_up_changes_nothing(
    connection_settings: ConnectionSettings, admin: AdminClient
) -> None:
    settings = StackSettings()
    pids = {r.name: r.pid for r in status(settings)}
    assert {t.name for t in TOPICS} <= set(admin.list_topics(timeout=10).topics)

    report = up(settings, connection_settings)

    assert report.noop
    assert {s.name: s.action for s in report.services} == dict.fromkeys(pids, "already running")
    assert {s.name: s.pid for s in report.services} == pids
    # Compared with what up reports, not with a listing: other tests share the broker and
    # create topics meanwhile.
    assert report.topics_created == []


@local_stack
def test_status_reports_every_service_healthy() -> None:
    reports = status(StackSettings())

    assert [r.name for r in reports] == ["postgres", "kafka", "registry"]
    assert all(r.healthy and r.pid and r.rss_kib for r in reports), reports
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert result.output.count("answering") == 3


def test_declared_topics_exist_with_partitions_and_infinite_retention(admin: AdminClient) -> None:
    metadata = admin.list_topics(timeout=10)
    configs = _topic_configs(admin, [t.name for t in TOPICS])

    for spec in TOPICS:
        assert len(metadata.topics[spec.name].partitions) == spec.partitions, spec.name
        assert configs[spec.name]["retention.ms"] == "-1", spec.name
        assert configs[spec.name]["retention.bytes"] == "-1", spec.name


def test_ensure_topics_creates_a_missing_topic_once(
    connection_settings: ConnectionSettings,
    admin: AdminClient,
    unique_name: Callable[[str], str],
    scratch_topics: list[str],
) -> None:
    spec = TopicSpec(unique_name("created"), 3)
    scratch_topics.append(spec.name)

    assert ensure_topics(admin, connection_settings, [spec]) == [spec.name]
    assert ensure_topics(admin, connection_settings, [spec]) == []
    configs = _topic_configs(admin, [spec.name])[spec.name]
    assert {k: configs[k] for k in KEEP_FOREVER} == KEEP_FOREVER


def test_topics_created_answer_on_every_partition_when_ensure_topics_returns(
    connection_settings: ConnectionSettings,
    admin: AdminClient,
    unique_name: Callable[[str], str],
    scratch_topics: list[str],
) -> None:
    # Right after a create, most partitions still refuse with NOT_LEADER_FOR_PARTITION for a
    # few hundred milliseconds; a record produced then can be lost for good (librdkafka #4904).
    specs = [TopicSpec(unique_name(f"ready{n}"), 12) for n in range(4)]
    scratch_topics.extend(s.name for s in specs)
    ensure_topics(admin, connection_settings, specs)

    admin.list_topics(timeout=30)  # so the client knows the new topics' leaders
    asked = {TopicPartition(s.name, p): OffsetSpec.latest() for s in specs for p in range(12)}
    refused = {}
    for tp, future in admin.list_offsets(asked, request_timeout=30).items():
        try:
            future.result()
        except KafkaException as exc:
            refused[(tp.topic, tp.partition)] = exc.args[0].name()
    assert refused == {}


def test_a_partition_that_never_answers_ends_the_wait_naming_it(
    connection_settings: ConnectionSettings,
    admin: AdminClient,
    unique_name: Callable[[str], str],
    scratch_topics: list[str],
) -> None:
    topic = unique_name("short")
    scratch_topics.append(topic)
    ensure_topics(admin, connection_settings, [TopicSpec(topic, 1)])
    with pytest.raises(BrokerUnavailable, match=rf"1 partitions .* after 1 s, e.g. {topic}\[1\]"):
        wait_until_writable(admin, {topic: 2}, timeout_s=1.0)  # it has partition 0 only


def test_deleting_topics_by_prefix_deletes_those_and_no_other(
    admin: AdminClient, unique_name: Callable[[str], str], scratch_topics: list[str]
) -> None:
    prefix, other = unique_name("gone"), unique_name("kept")
    ours = [f"{prefix}.a", f"{prefix}-app-changelog"]
    for name in [*ours, other]:
        _create_topic(admin, name, 1, {})
    scratch_topics.append(other)

    assert sorted(delete_topics_starting(admin, (f"{prefix}.", f"{prefix}-"))) == sorted(ours)
    deadline = time.monotonic() + 30
    while set(ours) & set(admin.list_topics(timeout=10).topics):
        assert time.monotonic() < deadline, "deleted topics still listed after 30 s"
        time.sleep(0.2)
    assert other in admin.list_topics(timeout=10).topics


def test_mismatched_topics_raise_naming_every_difference_and_stay_unaltered(
    connection_settings: ConnectionSettings,
    admin: AdminClient,
    unique_name: Callable[[str], str],
    scratch_topics: list[str],
) -> None:
    wrong_partitions, wrong_retention = unique_name("parts"), unique_name("retention")
    scratch_topics += [wrong_partitions, wrong_retention]
    _create_topic(admin, wrong_partitions, 2, dict(KEEP_FOREVER))
    _create_topic(admin, wrong_retention, 1, {**KEEP_FOREVER, "retention.ms": "60000"})
    specs = [TopicSpec(wrong_partitions, 3), TopicSpec(wrong_retention, 1)]

    with pytest.raises(TopicMismatch) as raised:
        ensure_topics(admin, connection_settings, specs)

    message = str(raised.value)
    assert f"{wrong_partitions}: 2 partitions, declared 3" in message
    assert f"{wrong_retention}: retention.ms=60000, declared -1" in message
    metadata = admin.list_topics(timeout=10)
    assert len(metadata.topics[wrong_partitions].partitions) == 2
    assert _topic_configs(admin, [wrong_retention])[wrong_retention]["retention.ms"] == "60000"


def _schema(name: str, *fields: tuple[str, str, object]) -> str:
    """An Avro record schema as JSON text; a field is (name, type, default or ...)."""
    return json.dumps(
        {
            "type": "record",
            "name": name,
            "namespace": "fq.test",
            "fields": [
                {"name": n, "type": t} | ({} if d is ... else {"default": d}) for n, t, d in fields
            ],
        }
    )


def _register(registry_url: str, subject: str, schema: str) -> httpx.Response:
    return httpx.post(
        f"{registry_url}/subjects/{subject}/versions",
        json={"schema": schema},
        headers={"Content-Type": AVRO},
        timeout=10,
    )


def test_registry_reuses_ids_and_enforces_backward_transitive(
    connection_settings: ConnectionSettings,
    unique_name: Callable[[str], str],
    scratch_subjects: list[str],
) -> None:
    url = connection_settings.registry_url
    subject = unique_name("subject")
    scratch_subjects.append(subject)
    v1 = _schema("Thing", ("id", "string", ...))
    # The same schema with other key order and spacing: Confluent gives it the same id.
    v1_reordered = '{"namespace": "fq.test", "name": "Thing", "fields": [{"type": "string", "name": "id"}], "type": "record"}'
    v2 = _schema("Thing", ("id", "string", ...), ("n", "int", 0))
    breaking = _schema("Thing", ("id", "int", ...))

    assert httpx.get(f"{url}/config", timeout=10).json()["compatibilityLevel"] == COMPATIBILITY
    first = _register(url, subject, v1).json()["id"]
    assert _register(url, subject, v1).json()["id"] == first
    assert _register(url, subject, v1_reordered).json()["id"] == first
    assert _register(url, subject, v2).status_code == 200
    assert _register(url, subject, breaking).status_code == 409
    assert httpx.get(f"{url}/subjects/{subject}/versions", timeout=10).json() == [1, 2]


def _first_message(bootstrap: str, topic: str, group: str, timeout_s: float = 30) -> Message:
    consumer = Consumer(
        {**kafka_config(bootstrap), "group.id": group, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                continue
            error = message.error()
            if error is None:
                return message
            if error.code() != KafkaError._PARTITION_EOF:
                raise AssertionError(error)
    finally:
        consumer.close()
    raise AssertionError(f"no message on {topic} within {timeout_s:.0f}s")


@local_stack
def test_down_then_up_keeps_rows_schemas_and_messages(
    connection_settings: ConnectionSettings,
    unique_name: Callable[[str], str],
    scratch_topics: list[str],
    scratch_subjects: list[str],
) -> None:
    settings = StackSettings()
    bootstrap, url = connection_settings.kafka_bootstrap, connection_settings.registry_url
    dsn = connection_settings.pg_dsn.get_secret_value()
    table, subject, topic = unique_name("rows"), unique_name("subject"), unique_name("kept")
    scratch_topics.append(topic)
    scratch_subjects.append(subject)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, note text)")
        conn.execute(f"INSERT INTO {table} VALUES (1, '枫桥')")
    schema_id = _register(url, subject, _schema("Kept", ("id", "string", ...))).json()["id"]
    ensure_topics(bootstrap, connection_settings, [TopicSpec(topic, 1)])
    producer = Producer({**kafka_config(bootstrap), "enable.idempotence": True})
    deliveries = Deliveries()
    produce(producer, topic, b"survives a restart", b"case-1", deliveries)
    deliveries.flush(producer, 30, "the record")

    down(settings)
    assert not any(r.healthy or r.pid for r in status(settings))
    report = up(settings, connection_settings)

    assert {s.action for s in report.services} == {"started"}
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute(f"SELECT note FROM {table}").fetchall() == [("枫桥",)]
        conn.execute(f"DROP TABLE {table}")
    latest = httpx.get(f"{url}/subjects/{subject}/versions/latest", timeout=10).json()
    assert latest["id"] == schema_id
    assert "Kept" in httpx.get(f"{url}/schemas/ids/{schema_id}", timeout=10).json()["schema"]
    message = _first_message(bootstrap, topic, unique_name("group"))
    assert (message.key(), message.value()) == (b"case-1", b"survives a restart")
