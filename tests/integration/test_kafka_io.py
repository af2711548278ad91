"""Delivery reports against the real broker: a write that Kafka refused in part raises,
naming where and why, instead of passing for written because nothing is left queued."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from events.errors import PublishFailed
from events.kafka_access import kafka_config
from events.kafka_io import Deliveries, produce
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import admin_client, delete_topics_starting, ensure_topics
from infra.topics import TopicSpec


def test_a_write_with_a_refused_record_raises_naming_it(
    connection_settings: ConnectionSettings, unique_name: Callable[[str], str]
) -> None:
    topic = unique_name("refused")
    admin = admin_client(connection_settings.kafka_bootstrap)
    ensure_topics(admin, connection_settings, [TopicSpec(topic, 2)])
    producer = Producer({**kafka_config(connection_settings.kafka_bootstrap)})
    try:
        deliveries = Deliveries()
        produce(producer, topic, b"kept", b"k", deliveries, partition=1)
        produce(producer, topic, b"nowhere", b"k", deliveries, partition=7)  # 2 partitions
        assert producer.flush(30) == 0  # nothing queued: flush alone calls this a success
        with pytest.raises(
            PublishFailed,
            match=rf"the test write: Kafka refused 1 records \({topic}\[7\]: .*partition",
        ):
            deliveries.flush(producer, 30, "the test write")

        clean = Deliveries()
        produce(producer, topic, b"kept too", b"k", clean, partition=0)
        clean.flush(producer, 30, "the second write")  # every record acknowledged: no error
    finally:
        delete_topics_starting(admin, (topic,))
