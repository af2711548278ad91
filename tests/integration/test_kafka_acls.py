"""Kafka locked down (``FQ_KAFKA_AUTH=scram``): each principal may do only what infra.acls
grants it. A broker of its own (its own data folder and ports, the stack's jars) is started
in SCRAM mode; every client here authenticates as one principal and is refused the rest.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from events.kafka_io import reader
from events.partitioning import partition_for
from events.topics import CASE_EVENTS, CASE_INBOX, OUTCOMES
from infra.acls import grants
from infra.settings import ConnectionSettings
from infra.stack.acl_admin import apply_grants
from infra.stack.kafka import Kafka
from infra.stack.layout import Layout
from infra.stack.processes import poll
from infra.stack.topics_admin import ensure_topics, wait_until_writable
from infra.topics import STREAM_PARTITIONS
from tests.integration.own_broker import own_broker

pytestmark = pytest.mark.integration

INTEGRATOR, INTEGRATOR_PASSWORD = "dept.example", "integrator-s3cret"


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kafka]:
    kafka, _, tools = own_broker(tmp_path_factory, "scram-kafka", "scram")
    kafka.start(tools, timeout_s=120)
    try:
        admin = AdminClient({"bootstrap.servers": kafka.address(), **kafka.client_config("admin")})
        ensure_topics(admin, ConnectionSettings())
        # An integrator's principal is added later, by the super user, with its grants.
        upsert = UserScramCredentialUpsertion(
            INTEGRATOR, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096),
            INTEGRATOR_PASSWORD.encode(),
        )  # fmt: skip
        for future in admin.alter_user_scram_credentials([upsert]).values():
            future.result(30)
        apply_grants(admin, grants(integrators=[INTEGRATOR]))
        yield kafka
    finally:
        kafka.stop(tools)


def _as(kafka: Kafka, principal: str) -> dict[str, Any]:
    if principal == INTEGRATOR:
        config = {**kafka.client_config("admin"), "sasl.username": INTEGRATOR,
                  "sasl.password": INTEGRATOR_PASSWORD}  # fmt: skip
    else:
        config = kafka.client_config(principal)
    return {"bootstrap.servers": kafka.address(), **config}


def _write(kafka: Kafka, principal: str, topic: str) -> KafkaError | None:
    """Append one record to ``topic`` as ``principal``: None when written, else the error."""
    errors: list[KafkaError | None] = []
    producer = Producer({**_as(kafka, principal), "enable.idempotence": True, "partitioner": "murmur2_random",
                         "message.timeout.ms": 15000, "log_level": 0})  # fmt: skip
    producer.produce(topic, b"{}", b"case-1", on_delivery=lambda err, _: errors.append(err))
    producer.flush(20)
    assert errors, f"no delivery report for {principal} on {topic}"
    return errors[0]


@pytest.mark.parametrize(
    ("principal", "topic", "allowed"),
    [
        (INTEGRATOR, CASE_INBOX, True),
        (INTEGRATOR, CASE_EVENTS, False),
        (INTEGRATOR, OUTCOMES, False),
        ("gateway", CASE_INBOX, True),
        ("gateway", CASE_EVENTS, False),
        ("workflow", CASE_EVENTS, True),
        ("workflow", OUTCOMES, True),
        ("workflow", CASE_INBOX, False),
        ("projector", CASE_EVENTS, False),
        ("dashboard", CASE_INBOX, False),
    ],
)
def test_only_what_is_granted_may_be_written(
    locked: Kafka, principal: str, topic: str, allowed: bool
) -> None:
    error = _write(locked, principal, topic)
    if allowed:
        assert error is None, f"{principal} could not write {topic}: {error}"
    else:
        assert error is not None, f"{principal} wrote {topic}"
        assert error.code() in (
            KafkaError.TOPIC_AUTHORIZATION_FAILED,
            KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        ), error


def test_the_projector_reads_the_log_and_an_integrator_cannot(locked: Kafka) -> None:
    assert _write(locked, "workflow", CASE_EVENTS) is None
    partition = TopicPartition(CASE_EVENTS, partition_for("case-1", STREAM_PARTITIONS))
    projector = reader(locked.address(), "acl-test", **_as(locked, "projector"))
    try:
        low, _ = projector.get_watermark_offsets(partition, timeout=15)
        projector.assign([TopicPartition(CASE_EVENTS, partition.partition, low)])
        msg = projector.poll(15)
        assert msg is not None and msg.error() is None and msg.value() == b"{}"
    finally:
        projector.close()
    integrator = reader(locked.address(), "acl-test", **_as(locked, INTEGRATOR))
    try:
        # The broker does not even say the topic exists to a principal that may not see it.
        with pytest.raises(KafkaException) as refused:
            integrator.get_watermark_offsets(partition, timeout=15)
        assert refused.value.args[0].code() in (
            KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError._UNKNOWN_PARTITION,
        )  # fmt: skip
        assert CASE_EVENTS not in integrator.list_topics(timeout=15).topics
        assert CASE_INBOX in integrator.list_topics(timeout=15).topics
    finally:
        integrator.close()


def test_a_wrong_password_is_refused(locked: Kafka) -> None:
    bad = {**_as(locked, "gateway"), "sasl.password": "wrong"}
    admin = AdminClient({**bad, "log_level": 0})
    with pytest.raises(KafkaException) as refused:
        admin.list_topics(timeout=10)
    assert "Authentication failed" in str(refused.value) or refused.value.args[0].code() in (
        KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED, KafkaError._TRANSPORT,
    )  # fmt: skip


def test_a_plaintext_cluster_comes_up_locked_down_with_its_data(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A data folder of a plaintext stack: its next locked-down start adds the SCRAM users
    (on one more plaintext start) and keeps its records; the start after that adds nothing."""
    kafka, layout, tools = own_broker(tmp_path_factory, "plain-kafka", "none")
    kafka.start(tools, timeout_s=120)
    try:
        assert not kafka.locked() and kafka.client_config("admin") == {}
        ensure_topics(kafka.admin(), ConnectionSettings())
        assert _write(kafka, "admin", CASE_EVENTS) is None  # plaintext: anyone writes
    finally:
        kafka.stop(tools)
    assert not layout.kafka_scram_users.exists()

    locked = Kafka(kafka.settings.model_copy(update={"kafka_auth": "scram"}), layout)
    locked.start(tools, timeout_s=120)
    try:
        assert locked.locked() and layout.kafka_scram_users.exists()
        # A restarted broker answers before it leads its partitions again.
        wait_until_writable(locked.admin(), {CASE_EVENTS: STREAM_PARTITIONS})
        partition = TopicPartition(CASE_EVENTS, partition_for("case-1", STREAM_PARTITIONS))
        projector = reader(locked.address(), "acl-test", **_as(locked, "projector"))
        try:
            low, high = _marks(projector, partition)
            assert high - low == 1  # the plaintext record is still there
        finally:
            projector.close()
        assert _write(locked, "workflow", CASE_EVENTS) is None
        assert _write(locked, "gateway", CASE_EVENTS) is not None
    finally:
        locked.stop(tools)
    marked = layout.kafka_scram_users.stat().st_mtime_ns
    locked.start(tools, timeout_s=120)  # the users are there: no plaintext start again
    try:
        assert layout.kafka_scram_users.stat().st_mtime_ns == marked
        assert _write(locked, "workflow", CASE_EVENTS) is None
    finally:
        locked.stop(tools)


def test_a_new_locked_cluster_still_lets_its_principals_in_after_a_restart(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A new data folder started locked down: its principals authenticate, and still do after
    the broker restarts (credentials given at format time were refused after a restart)."""
    kafka, _, tools = own_broker(tmp_path_factory, "new-locked-kafka", "scram")
    for start in ("first", "after a restart"):
        kafka.start(tools, timeout_s=120)
        try:
            assert kafka.locked(), start
            ensure_topics(kafka.admin(), ConnectionSettings())
            assert _write(kafka, "workflow", CASE_EVENTS) is None, start
            assert _write(kafka, "gateway", CASE_EVENTS) is not None, start
        finally:
            kafka.stop(tools)


class _SnapshottingKafka(Kafka):
    """The stack's broker, taking a metadata snapshot a second after any metadata change (a
    real cluster takes one per hour or per 20 MB of metadata, which a test cannot wait for)."""

    def _write_config(self, scram: bool) -> None:
        super()._write_config(scram)
        with self.config.open("a") as config:
            config.write("\nmetadata.log.max.snapshot.interval.ms=1000\n")


def _metadata_snapshots(layout: Layout) -> list[Path]:
    """The metadata log's snapshots, the format-time bootstrap checkpoint left out."""
    folder = layout.kafka_data / "__cluster_metadata-0"
    return [p for p in folder.glob("*.checkpoint") if not p.name.startswith("0" * 20 + "-")]


def test_principals_still_get_in_after_a_restart_from_a_metadata_snapshot(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The credentials live in the cluster's metadata: a broker that restarts from a snapshot
    of it (not from the records that added them) still lets every principal in."""
    kafka, layout, tools = own_broker(
        tmp_path_factory, "snapshot-kafka", "scram", _SnapshottingKafka
    )
    kafka.start(tools, timeout_s=120)
    try:
        ensure_topics(kafka.admin(), ConnectionSettings())
        assert poll(lambda: bool(_metadata_snapshots(layout)), 60), "no metadata snapshot taken"
    finally:
        kafka.stop(tools)
    kafka.start(tools, timeout_s=120)
    try:
        for principal in ("admin", "workflow", "projector", "gateway", "dashboard"):
            assert _authenticates(kafka, principal), f"{principal} refused after the restart"
        assert _write(kafka, "workflow", CASE_EVENTS) is None
    finally:
        kafka.stop(tools)


def _marks(consumer: Consumer, partition: TopicPartition) -> tuple[int, int]:
    """A partition's low and high marks, asked again while a new client's metadata does not
    know the partition yet (a busy broker answers a first metadata request late)."""
    for _ in range(30):
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=15)
            return low, high
        except KafkaException as e:
            if e.args[0].code() != KafkaError._UNKNOWN_PARTITION:
                raise
            time.sleep(1)
    raise AssertionError(f"{partition.topic}[{partition.partition}] never known to the client")


def _authenticates(kafka: Kafka, principal: str) -> bool:
    """Whether the broker lets ``principal`` in (a metadata request answered)."""
    admin = AdminClient({**_as(kafka, principal), "log_level": 0})
    try:
        admin.list_topics(timeout=15)
    except KafkaException:
        return False
    return True
