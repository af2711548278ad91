"""Reading records back from Kafka by position, decoded: what a publisher just wrote."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from confluent_kafka import TopicPartition

from events.codec import AvroCodec
from events.kafka_io import reader, where
from events.models import Event
from events.publisher import Receipt


def read_receipts(
    bootstrap: str, codec: AvroCodec, receipts: Iterable[Receipt], timeout_s: float = 30.0
) -> Iterator[tuple[Receipt, Event]]:
    """Yield the decoded event at each receipt's position (in partition order).

    Consumes only the offset range the receipts span, with ``read_committed`` isolation, so
    the rest of a long log is never read.
    """
    wanted: dict[tuple[str, int], set[int]] = defaultdict(set)
    for receipt in receipts:
        wanted[(receipt.topic, receipt.partition)].add(receipt.offset)
    consumer = reader(bootstrap, "readback")
    try:
        consumer.assign([TopicPartition(t, p, min(o)) for (t, p), o in wanted.items()])
        left = sum(len(o) for o in wanted.values())
        while left:
            msg = consumer.poll(timeout_s)
            if msg is None:
                unread = {k: sorted(v)[:3] for k, v in wanted.items() if v}
                raise TimeoutError(f"records not read back within {timeout_s:g}s: {unread}")
            topic, partition, offset = where(msg)
            if msg.error() is not None or offset not in wanted[(topic, partition)]:
                continue
            wanted[(topic, partition)].discard(offset)
            left -= 1
            event = codec.decode(msg.value() or b"", topic, partition, offset)
            yield Receipt(event.envelope.event_id, topic, partition, offset), event
    finally:
        consumer.close()
