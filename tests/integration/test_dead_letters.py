"""``DeadLetterSender`` on the real Kafka: each letter logged on its reader's logger and
copied to its original's partition of ``<topic>.dlq`` with the reason and the bytes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from events.dead_letters import DeadLetterSender
from events.kafka_access import kafka_config
from events.topics import dlq
from infra.stack.topics_admin import admin_client, delete_topics_starting, ensure_topics
from infra.topics import TopicSpec


@dataclass(frozen=True)
class _Letter:
    topic: str
    partition: int
    offset: int
    reason: str
    raw: bytes


def test_each_letter_is_logged_by_its_reader_and_copied_with_its_reason(
    connection_settings: Any,
    unique_name: Callable[[str], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    topic = unique_name("letters")
    bootstrap = connection_settings.kafka_bootstrap
    admin = admin_client(bootstrap)
    ensure_topics(admin, connection_settings, [TopicSpec(dlq(topic), 2)])
    sender = DeadLetterSender(bootstrap, reader="projector")
    try:
        with caplog.at_level(logging.ERROR, logger="fengqiao.projector"):
            sender.send([_Letter(topic, 1, 41, "schema id 99 is unknown", b"not avro")])
    finally:
        sender.close()
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("fengqiao.projector", f"projector: {topic}[1]@41 cannot be used: schema id 99 is unknown")
    ]
    consumer = Consumer({**kafka_config(bootstrap), "group.id": topic})
    try:
        consumer.assign([TopicPartition(dlq(topic), 1, 0)])
        msg = consumer.poll(15)
    finally:
        consumer.close()
        delete_topics_starting(admin, (dlq(topic),))
    assert msg is not None and msg.error() is None and msg.value() == b"not avro"
    assert dict(msg.headers() or [])["fq.dlq.reason"] == b"schema id 99 is unknown"
