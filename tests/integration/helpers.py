"""Shared pieces of the publish, codec, registry and CLI integration tests.

``scratch`` gives a test topics of its own (and removes them, with their registry subjects,
afterwards); ``read_topic`` reads records back until every partition's high watermark is
reached (polled, never slept); ``scratch_publisher`` is a ``Publisher`` aimed at a scratch
topic; ``fengqiao`` runs the console script as an operator would, against the session's
stack. Test modules import the fixtures (``scratch_fixture``, ``registry_fixture``) from here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from hypothesis import HealthCheck, settings

from events.kafka_access import kafka_config
from events.publisher import Publisher, PublisherSettings
from events.registry import SchemaRegistry
from events.topics import INBOX
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import admin_client, delete_topics_starting

READ_TIMEOUT_S = 30.0


def _console_script() -> str:
    beside = Path(sys.executable).with_name("fengqiao")
    found = str(beside) if beside.exists() else shutil.which("fengqiao")
    if found is None:
        pytest.fail("no `fengqiao` console script: install the project (pip install -e .)")
    return found


def fengqiao(connection: ConnectionSettings, *args: str) -> subprocess.CompletedProcess[str]:
    """``fengqiao *args`` against the session's stack, other ``FQ_*`` settings cleared."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("FQ_") or k == "FQ_KAFKA_LOCAL_DIR"
    }
    env.update(
        FQ_KAFKA_BOOTSTRAP=connection.kafka_bootstrap, FQ_REGISTRY_URL=connection.registry_url
    )
    return subprocess.run(
        [_console_script(), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def fuzz_settings(max_examples: int) -> settings:
    """Hypothesis settings for fuzzing a served process with schemathesis: ``max_examples``
    an operation, no deadline (a request's time is the server's, not the example's), and the
    module's server shared by every example (a fixture of the module, not of the function)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


class Scratch:
    """Unique topics for one test, created on demand and deleted (subjects too) at the end."""

    def __init__(self, connection: ConnectionSettings, name: Callable[[str], str]) -> None:
        self.connection = connection
        self._name = name
        self._admin: AdminClient = admin_client(connection.kafka_bootstrap)
        self.topics: list[str] = []

    def topic(self, partitions: int = 12) -> str:
        """A new, empty topic with ``partitions`` partitions."""
        name = self._name("fqt")
        new = NewTopic(name, partitions, self.connection.replication_factor)
        self._admin.create_topics([new])[name].result()
        self.topics.append(name)
        watermarks(self.connection.kafka_bootstrap, name)  # returns once every partition leads
        return name

    def inbox(self, partitions: int = 12) -> dict[str, str]:
        """An ``inbox=`` mapping sending every submitted stream to one new topic."""
        return dict.fromkeys(INBOX, self.topic(partitions))

    def remove(self) -> None:
        if not self.topics:
            return
        for future in self._admin.delete_topics(self.topics).values():
            future.result()
        prefixes = tuple(f"{topic}-" for topic in self.topics)
        delete_subjects(self.connection.registry_url, lambda s: s.startswith(prefixes))


def delete_prefixed_topics(bootstrap: str, prefix: str) -> None:
    """Delete every topic whose name starts with ``prefix`` (a test's own world), so that a
    long test session does not leave the broker thousands of partitions to carry."""
    delete_topics_starting(admin_client(bootstrap), (prefix,))


def delete_subjects(registry_url: str, which: Callable[[str], bool]) -> None:
    """Delete, for good, every subject of the registry for which ``which`` is true."""
    url = registry_url.rstrip("/")
    with httpx.Client(timeout=10) as client:
        for subject in client.get(f"{url}/subjects").raise_for_status().json():
            if which(subject):
                for permanent in ("false", "true"):  # soft delete, then hard
                    client.delete(
                        f"{url}/subjects/{subject}", params={"permanent": permanent}
                    ).raise_for_status()


@pytest.fixture(name="scratch")
def scratch_fixture(
    connection_settings: ConnectionSettings, unique_name: Callable[[str], str]
) -> Iterator[Scratch]:
    """Topics of this test's own; removed with their registry subjects afterwards."""
    topics = Scratch(connection_settings, unique_name)
    yield topics
    topics.remove()


@pytest.fixture(name="registry")
def registry_fixture(connection_settings: ConnectionSettings) -> Iterator[SchemaRegistry]:
    """A client of the session's registry, closed after the test."""
    client = SchemaRegistry(connection_settings.registry_url)
    yield client
    client.close()


def scratch_publisher(
    connection: ConnectionSettings, inbox: Mapping[str, str], **settings: Any
) -> Publisher:
    """A publisher on the session's stack that writes to ``inbox`` and registers schemas."""
    options: dict[str, Any] = {
        "kafka_bootstrap": connection.kafka_bootstrap,
        "registry_url": connection.registry_url,
        "auto_register": True,
    }
    options.update(settings)
    return Publisher(PublisherSettings(**options), inbox=inbox)


def _consumer(bootstrap: str) -> Consumer:
    return Consumer(
        {
            **kafka_config(bootstrap),
            "group.id": f"fqt-read-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "log_level": 2,
        }
    )


def watermarks(bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
    """``{partition: (low, high)}`` of ``topic`` as the broker has them now; waits (polling,
    up to ``READ_TIMEOUT_S``) while a new topic's partitions are still getting leaders."""
    consumer = _consumer(bootstrap)
    deadline = time.monotonic() + READ_TIMEOUT_S
    try:
        while True:
            try:
                return _watermarks(consumer, topic)
            except KafkaException as exc:
                if exc.args[0].code() not in _SETTLING or time.monotonic() > deadline:
                    raise
            time.sleep(0.1)  # the next poll of the broker's metadata
    finally:
        consumer.close()


_SETTLING = {
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}


def _watermarks(consumer: Consumer, topic: str) -> dict[int, tuple[int, int]]:
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    if metadata.error is not None:
        raise KafkaException(metadata.error)
    if not metadata.partitions or any(p.leader < 0 for p in metadata.partitions.values()):
        raise KafkaException(KafkaError(KafkaError.LEADER_NOT_AVAILABLE))
    return {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        for p in sorted(metadata.partitions)
    }


def ends(bootstrap: str, topic: str) -> dict[int, int]:
    """``{partition: high watermark}``: where the next record of each partition will go."""
    return {p: high for p, (_, high) in watermarks(bootstrap, topic).items()}


def record_count(bootstrap: str, topic: str) -> int:
    """How many records ``topic`` holds."""
    return sum(high - low for low, high in watermarks(bootstrap, topic).values())


@dataclass(frozen=True)
class Record:
    """One record read back: where it is, its key and its value."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


def read_topic(bootstrap: str, topic: str, since: Mapping[int, int] | None = None) -> list[Record]:
    """Every record of ``topic`` (from the offsets ``since``, default the oldest) up to the
    high watermarks as they are now, ordered by partition and offset. Fails after
    ``READ_TIMEOUT_S`` if the records do not all arrive."""
    marks = watermarks(bootstrap, topic)
    starts = {p: (since or {}).get(p, low) for p, (low, _) in marks.items()}
    wanted = {p: high for p, (_, high) in marks.items() if high > starts[p]}
    consumer = _consumer(bootstrap)
    records: list[Record] = []
    try:
        consumer.assign([TopicPartition(topic, p, starts[p]) for p in wanted])
        deadline = time.monotonic() + READ_TIMEOUT_S
        while wanted:
            if time.monotonic() > deadline:
                pytest.fail(f"{topic}: records up to {wanted} did not arrive in {READ_TIMEOUT_S}s")
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    pytest.fail(f"{topic}: {error}")
                continue
            record = Record(
                topic, msg.partition() or 0, msg.offset() or 0, msg.key(), msg.value() or b""
            )
            records.append(record)
            if record.offset + 1 >= wanted.get(record.partition, 0):
                wanted.pop(record.partition, None)
    finally:
        consumer.close()
    return sorted(records, key=lambda r: (r.partition, r.offset))
