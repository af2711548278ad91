"""Where logs end, asked of the real broker: each partition's watermarks and ends, a topic
that does not exist (an error, or no partitions where the caller says so), and a broker that
does not answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Consumer, Producer

from events.errors import BrokerUnavailable
from events.kafka_access import kafka_config
from events.kafka_io import Deliveries, produce, reader
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import admin_client, delete_topics_starting, ensure_topics
from infra.topics import TopicSpec
from projections.log_ends import ends_of, partition_marks, partitions_of, topic_ends


@pytest.fixture
def topic(
    connection_settings: ConnectionSettings, unique_name: Callable[[str], str]
) -> Iterator[str]:
    """A topic of 3 partitions holding 2 records in partition 0 and 1 in partition 2."""
    name = unique_name("ends")
    admin = admin_client(connection_settings.kafka_bootstrap)
    ensure_topics(admin, connection_settings, [TopicSpec(name, 3)])
    producer = Producer({**kafka_config(connection_settings.kafka_bootstrap)})
    deliveries = Deliveries()
    for partition in (0, 0, 2):
        produce(producer, name, b"r", b"k", deliveries, partition=partition)
    deliveries.flush(producer, 30, "the test records")
    try:
        yield name
    finally:
        delete_topics_starting(admin, (name,))


@pytest.fixture
def consumer(connection_settings: ConnectionSettings) -> Iterator[Consumer]:
    consumer = reader(connection_settings.kafka_bootstrap, "log-ends-test")
    try:
        yield consumer
    finally:
        consumer.close()


def test_each_partition_ends_where_its_last_record_was_written(
    connection_settings: ConnectionSettings, topic: str, consumer: Consumer
) -> None:
    assert partitions_of(consumer, topic) == [0, 1, 2]
    assert partition_marks(consumer, topic) == {0: (0, 2), 1: (0, 0), 2: (0, 1)}
    ends = {(topic, 0): 2, (topic, 1): 0, (topic, 2): 1}
    assert ends_of(consumer, [topic]) == ends
    assert topic_ends(connection_settings.kafka_bootstrap, [topic]) == ends


def test_a_topic_that_does_not_exist_is_an_error_unless_skipped(
    connection_settings: ConnectionSettings,
    topic: str,
    consumer: Consumer,
    unique_name: Callable[[str], str],
) -> None:
    missing = unique_name("never_made")
    assert partitions_of(consumer, missing) is None
    assert partition_marks(consumer, missing) is None
    with pytest.raises(BrokerUnavailable, match=rf"topic {missing} does not exist"):
        ends_of(consumer, [topic, missing])
    assert ends_of(consumer, [missing, topic], skip_missing=True) == ends_of(consumer, [topic])
    with pytest.raises(BrokerUnavailable, match=rf"topic {missing} does not exist"):
        topic_ends(connection_settings.kafka_bootstrap, [missing])


def test_a_broker_that_does_not_answer_is_unavailable() -> None:
    with pytest.raises(BrokerUnavailable, match="cannot read the end offsets"):
        topic_ends("127.0.0.1:1", ["fq.case.events"])
