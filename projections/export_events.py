"""The analysts' event export: each canonical log as flat rows of ``<stream>-events.parquet``
(the envelope as columns, the entity key, every other field as ``payload`` JSON).

Deterministic (the same log and period give the same bytes: rows in (partition, offset) order,
no clock in the files) and atomic (``projections.export_files``). Memory stays flat: one
partition is read at a time, and rows go to Parquet a row group at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from events.codec import AvroCodec
from events.errors import BrokerUnavailable, DecodeError
from events.kafka_io import reader, where
from events.models import model_for
from events.topics import CANONICAL
from projections.export_files import (
    LISTED,
    MS_UTC,
    ROW_GROUP,
    ExportError,
    ExportFiles,
    Period,
    Written,
    listing,
    payload_json,
)
from projections.log_ends import partition_marks
from projections.read_progress import STALL_S, ReadProgress
from projections.settings import ProjectorSettings

STREAMS = ("case", "visit", "reference")
KEY_COLUMN = {"case": "case_id", "visit": "grid_id", "reference": "entity_id"}
_METADATA_TIMEOUT_S = 10.0
_BATCH = 10_000
_POLL_S = 0.2
# Partitions are read one after the other: a fetch left waiting on one that is finished
# (500 ms by default) would delay the next one by as much.
_CONSUMER = {
    "enable.partition.eof": True,
    "fetch.wait.max.ms": 10,
    "log_level": 2,
    "queued.max.messages.kbytes": 16384,  # prefetch of the one partition read: 16 MiB, not 64
}


@dataclass(frozen=True)
class Undecodable:
    """A record of the log that could not be decoded, and why."""

    topic: str
    partition: int
    offset: int
    reason: str

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}: {self.reason}"


class UndecodableRecords(ExportError):
    """Records could not be decoded and skipping them was not asked for."""

    def __init__(self, count: int, first: Sequence[Undecodable]) -> None:
        self.count = count
        self.first = tuple(first)
        super().__init__(
            f"{count} record(s) could not be decoded, so nothing was written "
            f"(--skip-undecodable exports the rest): {listing(map(str, first), count)}"
        )


# --- rows of the event files ----------------------------------------------------------------
def event_schema(stream: str) -> pa.Schema:
    """The columns of ``<stream>-events.parquet``; the same for every event type."""
    required = [
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("event_type", pa.string()),
        ("event_id", pa.string()),
        ("event_time", MS_UTC),
        ("recorded_time", MS_UTC),
        ("source_system", pa.string()),
        ("actor_id", pa.string()),
        ("actor_role", pa.string()),
    ]
    optional = [("sequence", pa.int64())]
    after = [(KEY_COLUMN[stream], pa.string())]
    trailing = [("correlation_id", pa.string()), ("causation_id", pa.string())]
    return pa.schema(
        [pa.field(n, t, nullable=False) for n, t in required]
        + [pa.field(n, t) for n, t in optional]
        + [pa.field(n, t, nullable=False) for n, t in after]
        + [pa.field(n, t) for n, t in trailing]
        + [pa.field("payload", pa.string(), nullable=False)]
    )


def event_row(
    stream: str, topic: str, partition: int, offset: int, event_type: str, datum: dict[str, Any]
) -> dict[str, Any]:
    """One decoded record as a row of ``event_schema(stream)``, columns in its order: the
    envelope flattened, the entity key, and every other field as ``payload`` JSON."""
    envelope = datum["envelope"]
    key_field = model_for(event_type).key_field
    return {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "event_type": event_type,
        "event_id": envelope["event_id"],
        "event_time": envelope["event_time"],
        "recorded_time": envelope["recorded_time"],
        "source_system": envelope["source_system"],
        "actor_id": envelope["actor"]["id"],
        "actor_role": envelope["actor"]["role"],
        "sequence": envelope.get("sequence"),
        KEY_COLUMN[stream]: datum[key_field],
        "correlation_id": envelope.get("correlation_id"),
        "causation_id": envelope.get("causation_id"),
        "payload": payload_json(
            {k: v for k, v in datum.items() if k != "envelope" and k != key_field}
        ),
    }


# --- events ---------------------------------------------------------------------------------
@dataclass
class EventsExport:
    """What ``export_events`` wrote, and the undecodable records it skipped."""

    files: list[Written]
    read: int
    undecodable: int
    first_undecodable: list[Undecodable]


def export_events(
    settings: ProjectorSettings,
    codec: AvroCodec,
    out: Path,
    period: Period,
    streams: Sequence[str] = STREAMS,
    *,
    skip_undecodable: bool = False,
    on_total: Callable[[int], None] | None = None,
    on_read: Callable[[int], None] | None = None,
    row_group: int = ROW_GROUP,
) -> EventsExport:
    """Write ``<stream>-events.parquet`` to ``out`` for each stream: the events of its
    canonical log whose event time falls in ``period``, in (partition, offset) order.

    Every partition is read from its start to the end it had when the export started,
    committed records only (``FQ_KAFKA_BOOTSTRAP``, ``FQ_TOPIC_PREFIX``). ``on_total`` gets
    the number of records to read, ``on_read`` each number read since.

    Raises:
        BrokerUnavailable: Kafka cannot be reached or stops delivering.
        ExportError: a topic is missing; ``UndecodableRecords`` when a record does not
            decode and ``skip_undecodable`` is false; ``OutputNotWritable``.
        RegistryUnavailable: the schema registry cannot be reached.
    """
    topics = {s: settings.topic(CANONICAL[s]) for s in dict.fromkeys(streams)}
    consumer = reader(settings.kafka_bootstrap, "export", **_CONSUMER)
    try:
        ends = {s: _extents(consumer, settings, topic) for s, topic in topics.items()}
        if on_total is not None:
            on_total(sum(end - low for extents in ends.values() for _, low, end in extents))
        read, bad = 0, _Bad()
        with ExportFiles(out, row_group) as outputs:
            for stream, topic in topics.items():
                sink = outputs.parquet(f"{stream}-events.parquet", event_schema(stream))
                for partition, low, end in ends[stream]:
                    for msg in _records(consumer, topic, partition, low, end, on_read):
                        read += 1
                        offset = where(msg)[2]
                        try:
                            event_type, datum = codec.decode_datum(
                                msg.value() or b"", topic, partition, offset
                            )
                        except DecodeError as exc:
                            bad.add(Undecodable(topic, partition, offset, exc.reason))
                            continue
                        if period.contains(datum["envelope"]["event_time"]):
                            row = event_row(stream, topic, partition, offset, event_type, datum)
                            sink.add(tuple(row.values()))
                sink.close()
            if bad.count and not skip_undecodable:
                raise UndecodableRecords(bad.count, bad.first)
            files = outputs.commit()
        return EventsExport(files, read, bad.count, bad.first)
    finally:
        consumer.close()


@dataclass
class _Bad:
    count: int = 0
    first: list[Undecodable] = field(default_factory=list)

    def add(self, record: Undecodable) -> None:
        self.count += 1
        if len(self.first) < LISTED:
            self.first.append(record)


def _extents(
    consumer: Consumer, settings: ProjectorSettings, topic: str
) -> list[tuple[int, int, int]]:
    """(partition, first offset, end offset) of every partition of ``topic``, now."""
    try:
        marks = partition_marks(consumer, topic, _METADATA_TIMEOUT_S)
    except KafkaException as exc:
        raise BrokerUnavailable(
            f"cannot reach Kafka at {settings.kafka_bootstrap} (FQ_KAFKA_BOOTSTRAP) "
            f"to read {topic}: {exc.args[0] if exc.args else exc}"
        ) from exc
    if not marks:
        raise ExportError(
            f"topic {topic} does not exist on Kafka at {settings.kafka_bootstrap} "
            f"(FQ_TOPIC_PREFIX={settings.topic_prefix!r})"
        )
    return [(p, low, high) for p, (low, high) in marks.items()]


def _records(
    consumer: Consumer,
    topic: str,
    partition: int,
    low: int,
    end: int,
    on_read: Callable[[int], None] | None,
) -> Iterator[Message]:
    """The committed records of one partition from ``low`` up to ``end``, in offset order;
    ``on_read`` gets the offsets passed (transaction markers and aborted records included)."""
    if end <= low:
        return
    consumer.assign([TopicPartition(topic, partition, low)])
    progress = ReadProgress(low, end, time.monotonic(), stall_s=STALL_S)
    while not progress.complete:
        position = progress.position
        # Asking for no more than is left returns at once when no transaction marker is left.
        for msg in consumer.consume(min(_BATCH, end - position), _POLL_S):
            at_topic, at_partition, offset = where(msg)
            if at_topic != topic or at_partition != partition:
                continue  # fetched before this partition was assigned
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    raise BrokerUnavailable(f"reading {topic}[{partition}] at {position}: {err}")
                position = max(position, offset)
            elif offset >= end:
                position = end
            else:
                yield msg
                position = offset + 1
        if position == progress.position:  # perhaps only transaction markers were passed
            now_at = consumer.position([TopicPartition(topic, partition)])[0].offset
            position = max(position, now_at)
        now = time.monotonic()
        moved = progress.reached(min(position, end), now)
        if moved:
            if on_read is not None:
                on_read(moved)
        elif progress.stalled(now):
            raise BrokerUnavailable(
                f"Kafka delivered nothing of {topic}[{partition}] for {STALL_S:.0f}s at offset "
                f"{progress.position} of {end} (a transaction left open, or the broker gone)"
            )
    consumer.unassign()
