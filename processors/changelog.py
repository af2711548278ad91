"""The workflow's tables: in memory, per inbox partition, kept and restored through changelogs.

A table is a dict of bytes per inbox partition that this worker owns (a case's record lives in
its case-inbox partition, a grid's in its visit-inbox partition). Every change is written to
the table's changelog topic (compacted, one partition per inbox partition) in the transaction
of the input record that made it, beside that record's outputs and its offset; so a
partition's changelog holds exactly the state of the committed records. When the worker takes
a partition it reads the partition's changelogs, committed records only, up to their end
(``restore``), after the previous owner was fenced: there is no open transaction left to
wait for, and the end a read-committed consumer reaches is the end of what committed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from events.kafka_io import reader

__all__ = ["RESTORE_STALL_S", "RestoreFailed", "Restored", "Table", "changelog_topic", "restore"]

RESTORE_STALL_S = 60.0


class RestoreFailed(RuntimeError):
    """A changelog could not be read to its end."""


def changelog_topic(app_id: str, name: str) -> str:
    """The changelog topic of table ``name`` of app ``app_id`` (as faust named them, so a
    worker of this version reads the state its predecessors wrote)."""
    return f"{app_id}-{name}-changelog"


@dataclass
class Table:
    """One table: its name, changelog topic and the data of the partitions owned."""

    name: str
    topic: str
    parts: dict[int, dict[bytes, bytes]] = field(default_factory=dict)

    def get(self, partition: int, key: bytes) -> bytes | None:
        part = self.parts.get(partition)
        return None if part is None else part.get(key)

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        part = self.parts.get(partition)
        if part is not None:  # else released mid-batch: the write of the record is dropped too
            part[key] = value

    def items(self, partition: int) -> Iterator[tuple[bytes, bytes]]:
        """The partition's keys and values, as a list taken now."""
        return iter(list(self.parts.get(partition, {}).items()))

    def drop(self, partition: int) -> None:
        self.parts.pop(partition, None)


@dataclass(frozen=True)
class Restored:
    """A partition of some tables as read from their changelogs, to ``install``."""

    partition: int
    data: list[tuple[Table, dict[bytes, bytes]]]
    records: int

    def install(self) -> None:
        """Make it the tables' partition (replacing what they had)."""
        for table, part in self.data:
            table.parts[self.partition] = part


def restore(bootstrap: str, tables: Iterable[Table], partition: int) -> Restored:
    """Read ``partition`` of each table's changelog from its start to its end, committed
    records only. Blocking. Raises ``RestoreFailed`` when a changelog cannot be read or stops
    moving short of its end."""
    tables = list(tables)
    if not tables:
        return Restored(partition, [], 0)
    by_topic = {t.topic: dict[bytes, bytes]() for t in tables}
    # read_committed, and its end is the last stable offset: the end of what committed
    consumer = reader(bootstrap, "workflow-restore", **{"enable.partition.eof": True})
    read = 0
    try:
        for topic in by_topic:
            found = consumer.list_topics(topic, timeout=RESTORE_STALL_S).topics.get(topic)
            if found is None or found.error is not None or partition not in found.partitions:
                why = found.error if found is not None else "not found"
                raise RestoreFailed(f"{topic}[{partition}] cannot be read: {why}")
        consumer.assign([TopicPartition(t, partition, OFFSET_BEGINNING) for t in by_topic])
        left = set(by_topic)
        moved = time.monotonic()
        while left:
            msgs = consumer.consume(10_000, 0.5)
            for msg in msgs:
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        left.discard(msg.topic() or "")
                        continue
                    raise RestoreFailed(f"{msg.topic()}[{partition}]: {error}")
                data = by_topic[msg.topic() or ""]
                key, value = msg.key() or b"", msg.value()
                if value is None:
                    data.pop(key, None)
                else:
                    data[key] = value
                read += 1
            now = time.monotonic()
            if msgs:
                moved = now
            elif now - moved > RESTORE_STALL_S:
                raise RestoreFailed(f"{sorted(left)}[{partition}] unread to the end")
    except KafkaException as exc:
        raise RestoreFailed(f"changelogs of partition {partition}: {exc}") from exc
    finally:
        consumer.close()
    return Restored(partition, [(t, by_topic[t.topic]) for t in tables], read)
