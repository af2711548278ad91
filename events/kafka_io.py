"""The two Kafka client habits every reader and writer of Fengqiao shares.

- ``reader``: a consumer that reads by assignment under a throw-away group, commits nothing,
  and by default sees only committed records (the workflow writes in transactions).
- ``produce``: one record, waiting for room when librdkafka's local queue is full rather
  than failing, then (unless told not to) serving delivery callbacks.
- ``Deliveries``: a delivery callback that keeps every failure, and a flush that raises on
  any: ``Producer.flush`` only counts what is still queued, so a record Kafka refused for
  good would otherwise pass for written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer

from events.errors import PublishFailed
from events.kafka_access import kafka_config


def reader(bootstrap: str, purpose: str, **config: Any) -> Consumer:
    """A consumer for reading, not for group work: group ``fengqiao-<purpose>-<uuid>``,
    no offset commits, ``read_committed``. ``config`` adds or overrides librdkafka keys,
    e.g. ``**{"isolation.level": "read_uncommitted"}``."""
    settings = kafka_config(
        bootstrap,
        **{
            "group.id": f"fengqiao-{purpose}-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        },
    )
    settings.update(config)
    return Consumer(settings)


def produce(
    producer: Producer,
    topic: str,
    value: bytes,
    key: bytes | None,
    on_delivery: Callable[..., None] | None = None,
    *,
    partition: int | None = None,
    headers: list[tuple[str, bytes]] | None = None,
    serve: bool = True,
) -> None:
    """Produce one record; when the local queue is full, let deliveries drain and retry.
    ``partition``: a given partition instead of the partitioner's choice. ``serve``: serve
    delivery callbacks right after (a caller producing many records may serve them itself,
    every so many records, with ``producer.poll(0)``). A record Kafka refuses at once is
    counted in ``on_delivery`` when it is a ``Deliveries`` (else the error is raised)."""
    while True:
        try:
            producer.produce(
                topic,
                value,
                key,
                partition=_UNASSIGNED if partition is None else partition,
                # The stub's list[tuple[str, str | bytes | None]] is invariant; bytes values are fine.
                on_delivery=on_delivery,
                headers=headers,  # type: ignore[arg-type]
            )
            break
        except BufferError:
            producer.poll(0.05)
        except KafkaException as exc:
            # Refused on the spot (a partition the producer already knows is missing): the
            # same failure as one reported on delivery, so a write's ``flush`` says it once.
            if not isinstance(on_delivery, Deliveries):
                raise
            on_delivery.failed.append((topic, partition or 0, exc.args[0]))
            break
    if serve:
        producer.poll(0)


class Deliveries:
    """Pass as ``on_delivery`` to every record of one write; ``flush`` when it is done."""

    def __init__(self) -> None:
        self.failed: list[tuple[str, int, KafkaError]] = []

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.failed.append((str(msg.topic()), msg.partition() or 0, err))

    def flush(self, producer: Producer, timeout_s: float, what: str) -> None:
        """Wait for every record's delivery report.

        Raises:
            PublishFailed: records of ``what`` are still unsent after ``timeout_s``, or Kafka
                refused some (how many, and the first few: where and why).
        """
        left = producer.flush(timeout_s)
        if left:
            raise PublishFailed(f"{what}: {left} records not delivered within {timeout_s:g} s")
        if self.failed:
            first = "; ".join(f"{t}[{p}]: {e.str()}" for t, p, e in self.failed[:3])
            raise PublishFailed(f"{what}: Kafka refused {len(self.failed)} records ({first})")


_UNASSIGNED = -1  # librdkafka's RD_KAFKA_PARTITION_UA: the partitioner chooses


def where(msg: Message) -> tuple[str, int, int]:
    """A consumed or delivered record's topic, partition and offset, which Kafka always sets
    on one (confluent-kafka types them as optional, for messages built by hand)."""
    return msg.topic(), msg.partition(), msg.offset()  # type: ignore[return-value]
