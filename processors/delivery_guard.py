"""A guard against records that faust never hands to an agent.

An inbox partition is written without transactions (the SDK's idempotent producer, the
deadline trigger), so its offsets follow one another, and an agent must see each of them,
in order. faust-streaming 0.15.3 would commit past a record it never delivered: its
``Consumer._new_offset`` accepts acked offsets that begin one after the committed offset,
so the record at the committed offset itself can be passed over unacked (faust-streaming
issue #606, still open). The kill -9 test had left one submission in about a dozen runs
committed without an outcome. The guard sees a jump in offsets before any record after it
is acked, and the worker ends, uncommitted, so that the next worker reads the partition
again from its committed offset.

A jump over offsets that hold no record a consumer can read (the markers and aborted
records of a transactional writer) is no hole: ``holds_records`` reads the range to tell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, TopicPartition

__all__ = ["DeliveryGuard", "SkippedRecords", "holds_records"]

Partition = Any  # faust's TP: (topic, partition)


class SkippedRecords(RuntimeError):
    """faust delivered a record while earlier ones of its partition were never delivered."""


class DeliveryGuard:
    """The next offset each partition's agent should be given.

    Args:
        committed: the partition's committed offset as faust sought to it (``None`` when
            unknown), for a partition's first record after it was assigned.
    """

    def __init__(self, committed: Callable[[Partition], int | None]) -> None:
        self._committed = committed
        self._next: dict[Partition, int] = {}

    def hole(self, tp: Partition, offset: int) -> tuple[int, int] | None:
        """The offsets ``[start, offset)`` that came before ``offset`` undelivered, if any;
        ``offset`` is then the one expected next but one. A record delivered again (an
        offset lower than expected) is no hole: it is decided again, as a duplicate."""
        expected = self._next.get(tp)
        if expected is None:
            expected = self._committed(tp)
        self._next[tp] = offset + 1
        if expected is not None and offset > expected:
            return expected, offset
        return None

    def forget(self, tp: Partition) -> None:
        """The partition was revoked; its next assignment starts from its committed offset."""
        self._next.pop(tp, None)


def holds_records(bootstrap: str, topic: str, partition: int, start: int, end: int) -> bool:
    """Whether a read-committed consumer finds a record at an offset in ``[start, end)``."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "fengqiao-delivery-guard",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "log_level": 2,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, partition, start)])
        for _ in range(20):  # a few seconds at most: the records are there, or never will be
            for msg in consumer.consume(100, 0.25):
                if msg.error() is None:
                    return (msg.offset() or 0) < end
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), 5)
            position = consumer.position([TopicPartition(topic, partition)])[0].offset
            if position >= end or high <= start:
                return False
        return True  # unread after all tries: assume the worst, a restart reads it again
    finally:
        consumer.close()
