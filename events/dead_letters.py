"""Dead letters: records a reader could not use, copied to ``<topic>.dlq`` with the reason and
the original bytes, never silently lost.

- ``dead_letter_headers``: what a dead letter says about where it came from and why it could
  not be used.
- ``DeadLetterSender``: logs and copies a reader's unusable records, each to the partition of
  its original on ``<topic>.dlq``, and raises unless Kafka acknowledged every copy. The workflow
  writes its poison records inside its own transactions instead (``processors.outputs``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from confluent_kafka import Producer

from events.kafka_access import kafka_config
from events.kafka_io import Deliveries, produce
from events.topics import dlq

__all__ = ["DeadLetterSender", "Unusable", "dead_letter_headers"]


class Unusable(Protocol):
    """A record that could not be used: where it was, why, and its bytes as read."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def raw(self) -> bytes: ...


def dead_letter_headers(
    reason: str, topic: str, partition: int, offset: int
) -> list[tuple[str, bytes]]:
    """The headers of a dead letter: the reason, and the record's original position."""
    return [
        ("fq.dlq.reason", reason.encode()),
        ("fq.dlq.topic", topic.encode()),
        ("fq.dlq.partition", str(partition).encode()),
        ("fq.dlq.offset", str(offset).encode()),
    ]


class DeadLetterSender:
    """An idempotent producer of dead letters, made at the first one (no network I/O in the
    constructor); ``close`` waits for what is still queued.

    Args:
        bootstrap: the Kafka bootstrap servers.
        reader: who could not use the records (``projector``): each is logged as an error on
            the logger ``fengqiao.<reader>``, so that a dead letter is seen where it happened.
    """

    def __init__(self, bootstrap: str, reader: str) -> None:
        self._bootstrap = bootstrap
        self._reader = reader
        self._log = logging.getLogger(f"fengqiao.{reader}")
        self._producer: Producer | None = None

    def send(self, letters: Sequence[Unusable]) -> None:
        """Copy each record to ``<topic>.dlq`` and wait until Kafka has them all (at least
        once there: a caller that writes its effect after this may send them again).

        Raises:
            PublishFailed: some copy was not acknowledged.
        """
        for d in letters:
            self._log.error(
                "%s: %s[%d]@%d cannot be used: %s",
                self._reader,
                d.topic,
                d.partition,
                d.offset,
                d.reason,
            )
        if self._producer is None:
            self._producer = Producer(kafka_config(self._bootstrap, **{"enable.idempotence": True}))
        deliveries = Deliveries()
        for d in letters:
            # The same partition as the original, so its stream's order is kept.
            produce(
                self._producer,
                dlq(d.topic),
                d.raw,
                None,
                deliveries,
                partition=d.partition,
                headers=dead_letter_headers(d.reason, d.topic, d.partition, d.offset),
            )
        deliveries.flush(self._producer, 30, "dead letters to their .dlq topics")

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(10)
