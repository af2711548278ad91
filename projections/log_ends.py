"""Where logs end now: a partition's watermarks, a topic's partitions and their ends, and the
ends of the logs the projector reads (a replay's target, the dashboard's measure of how far
behind the projection is).

Every question is asked of a consumer: ``topic_ends`` makes one of its own for a single
answer; the projector, the reference tail and the dashboard's watch ask the one they hold.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from events.errors import BrokerUnavailable
from events.kafka_io import reader
from projections.settings import ProjectorSettings
from projections.tables import SOURCE_TOPICS

__all__ = [
    "end_offsets",
    "ends_of",
    "partition_marks",
    "partitions_of",
    "source_topics",
    "topic_ends",
    "watermarks",
]

# What a topic created a moment ago answers until its leader is known everywhere.
_SETTLING = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}


def watermarks(
    consumer: Consumer, tp: TopicPartition, attempts: int = 20, timeout_s: float = 10.0
) -> tuple[int, int]:
    """A partition's low and high watermarks, retrying what Kafka calls retriable (a new
    topic's leader not yet known, a leader moving).

    Raises:
        KafkaException: the last attempt failed, or a failure was not retriable.
    """
    for attempt in range(attempts):
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s)
            return int(low), int(high)
        except KafkaException as exc:
            err = exc.args[0]
            if attempt == attempts - 1 or not (err.retriable() or err.code() in _SETTLING):
                raise
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


def partitions_of(consumer: Consumer, topic: str, timeout_s: float = 10.0) -> list[int] | None:
    """The partitions of ``topic`` in order; None when the topic does not exist.

    Raises:
        KafkaException: the broker did not answer within ``timeout_s``.
    """
    meta = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
    if meta is None or meta.error is not None:
        return None
    return sorted(meta.partitions)


def partition_marks(
    consumer: Consumer, topic: str, timeout_s: float = 10.0, attempts: int = 20
) -> dict[int, tuple[int, int]] | None:
    """Each partition of ``topic`` with its low and high watermarks now, in partition order;
    None when the topic does not exist. ``attempts``: as ``watermarks``.

    Raises:
        KafkaException: as ``partitions_of`` and ``watermarks``.
    """
    partitions = partitions_of(consumer, topic, timeout_s)
    if partitions is None:
        return None
    return {
        p: watermarks(consumer, TopicPartition(topic, p), attempts, timeout_s) for p in partitions
    }


def ends_of(
    consumer: Consumer,
    topics: Sequence[str],
    timeout_s: float = 10.0,
    attempts: int = 20,
    *,
    skip_missing: bool = False,
) -> dict[tuple[str, int], int]:
    """Where each partition of ``topics`` ends now (its high watermark). ``attempts``: as
    ``watermarks``. ``skip_missing``: a topic that does not exist has no partitions, rather
    than being an error.

    Raises:
        BrokerUnavailable: a topic does not exist (unless ``skip_missing``).
        KafkaException: as ``partition_marks``.
    """
    out: dict[tuple[str, int], int] = {}
    for topic in topics:
        marks = partition_marks(consumer, topic, timeout_s, attempts)
        if marks is None:
            if skip_missing:
                continue
            raise BrokerUnavailable(f"topic {topic} does not exist: run `fengqiao stack up`")
        out.update(((topic, p), high) for p, (_, high) in marks.items())
    return out


def topic_ends(bootstrap: str, topics: Sequence[str]) -> dict[tuple[str, int], int]:
    """Where each partition of ``topics`` ends now (its high watermark), asked of a consumer
    of its own.

    Raises:
        BrokerUnavailable: a topic does not exist, or Kafka did not answer.
    """
    consumer = reader(bootstrap, "projector-ends")
    try:
        return ends_of(consumer, topics)
    except KafkaException as exc:
        raise BrokerUnavailable(f"cannot read the end offsets: {exc}") from exc
    finally:
        consumer.close()


def source_topics(settings: ProjectorSettings) -> dict[str, str]:
    """The streams projected and their topics: the canonical case and visit logs, and the
    refused submissions (``rejections``)."""
    return {stream: settings.topic(topic) for stream, topic in SOURCE_TOPICS.items()}


def end_offsets(settings: ProjectorSettings) -> dict[tuple[str, int], int]:
    """Where each partition projected ends now: a replay's target."""
    return topic_ends(settings.kafka_bootstrap, list(source_topics(settings).values()))
