"""The gateway's ``Sink`` on the real Kafka: each record answered with its place once
acknowledged, its delivery reports served on the loop that awaits them (also when a later
loop uses the same sink), and a record Kafka cannot take answered with why."""

from __future__ import annotations

import asyncio

from events.errors import BrokerUnavailable
from events.gateway.sink import Delivered, Sink
from events.publisher import PublisherSettings
from events.topics import INBOX
from tests.factories import example_event
from tests.integration.gateway_helpers import (
    GatewayWorld,
    gateway_world_fixture,  # noqa: F401 (a fixture)
)


def _sink(world: GatewayWorld, bootstrap: str, timeout_s: float = 15) -> Sink:
    settings = PublisherSettings(
        kafka_bootstrap=bootstrap,
        registry_url=world.connection.registry_url,
        topic_prefix=world.prefix,
        auto_register=True,
        publish_timeout_s=timeout_s,
    )
    return Sink(settings, world.codec, timeout_s)


def test_records_are_acknowledged_in_order_on_one_loop_and_the_next(world: GatewayWorld) -> None:
    sink = _sink(world, world.connection.kafka_bootstrap)
    events = [example_event("CaseReported") for _ in range(50)]
    try:
        first = asyncio.run(sink.send(events[:40]))
        second = asyncio.run(sink.send(events[40:]))  # a new loop: the pump starts on it
    finally:
        sink.close()
    answers = first + second
    assert all(isinstance(a, Delivered) for a in answers), answers
    topic = world.prefix + INBOX["case"]
    assert {a.topic for a in answers if isinstance(a, Delivered)} == {topic}
    offsets = [a.offset for a in answers if isinstance(a, Delivered)]
    assert len(set(offsets)) == len(events)


def test_a_broker_that_does_not_answer_is_each_records_503(world: GatewayWorld) -> None:
    sink = _sink(world, "127.0.0.1:1", timeout_s=1)  # nothing listens there
    try:
        answers = asyncio.run(sink.send([example_event("CaseReported") for _ in range(3)]))
    finally:
        sink.close()
    assert len(answers) == 3
    assert all(isinstance(a, BrokerUnavailable) for a in answers), answers
