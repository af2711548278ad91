"""What input records write, and how: each record's all in its partition's Kafka transaction.

A handler collects everything a record causes in its ``Source`` (canonical events,
rejections, dead letters, table changelog records) and applies the record's table updates at
once, so the next record of the same case or grid is decided against them. The agent then
hands a batch of sources to ``Writer.write``, which appends each one's records to the
transactional producer of its input partition, under faust's lock of that producer, as
record batches built here (one per topic partition, in record order). So a transaction commit
never splits a record: its outputs and its state change are in the same transaction, the one
that commits its offset or an earlier one (faust acks the batch's records only after the
write, and takes the offsets to commit before it takes the lock, so a transaction may hold a
record whose offset commits with the next one; after a crash that record is read again and,
its state being there already, answered as a duplicate: byte-identical re-sends).

faust's own ways are not used on purpose: ``topic.send`` and table assignment pick the
transaction from the *destination* topic and partition (outputs to another topic would then
commit separately, or outside any transaction), and a table assignment sends its changelog
record later, from a buffer, possibly after the offset commits. Building the record batches
here, rather than sending record by record, spares aiokafka a future and a coroutine per
record.

A write that fails leaves table updates applied that are not in Kafka; the agent ends the
worker then (``workflow.fatal``), so they are never used: the next worker restores the tables
from the changelog, which has only what committed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust
from faust.exceptions import ProducerSendError
from faust.types import EventT, TableT

from events.errors import DecodeError
from events.kafka_io import dead_letter_headers
from events.models import Envelope, Event, SubmissionRejected
from events.partitioning import partition_for
from events.topics import dlq
from processors.rules.decisions import DERIVED_ACTOR, derived_envelope

__all__ = ["POISON_RECORD", "UNKNOWN", "Source", "Writer", "dead_letter", "rejection"]

POISON_RECORD = "POISON_RECORD"
UNKNOWN = "unknown"
Headers = list[tuple[str, bytes]]


@dataclass
class Source:
    """The record being processed, the transaction it belongs to, and what it will write."""

    inbox: str  # logical name (events.topics)
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp: float
    transactional_id: str
    outgoing: list[tuple[str, bytes | None, bytes, int | None, Headers | None]] = field(
        default_factory=list
    )

    @classmethod
    def of(cls, app: faust.App, app_id: str, event: EventT[bytes], inbox: str) -> Source:
        """The source of ``event`` from ``inbox``, for the app whose ``conf.id`` is ``app_id``."""
        message = event.message
        group = app.assignor.group_for_topic(message.topic)
        return cls(
            inbox=inbox,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value or b"",
            timestamp=message.timestamp,
            # faust's formula (TransactionManager.commit): one producer per partition of each
            # co-partitioned group; this partition's offsets commit in its transactions.
            transactional_id=f"{app_id}-{group}-{message.partition}",
        )

    @property
    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers | None = None
    ) -> None:
        """Write a record to ``topic``, in the partition Kafka's murmur2 gives its key."""
        self.outgoing.append((topic, key, value, None, headers))

    def put(self, table: TableT[bytes, bytes], key: bytes, value: bytes) -> None:
        """Set a table key now; its changelog record goes to this record's partition."""
        changelog = table.changelog_topic.get_topic_name()
        self.outgoing.append((changelog, key, value, self.partition, None))
        store: Any = table.data
        store[key] = value
        partitions = getattr(store, "_key_partition", None)  # the memory store's bookkeeping
        if partitions is not None:
            partitions[key] = self.partition


class Writer:
    """Writes what records collected; knows how long the write in progress has waited.

    A write waits for faust's lock of its transaction, which a commit holds until the broker
    has ended the transaction. ``waiting_for`` lets a watchdog end a worker whose writes stopped
    moving (a transaction that never ends), instead of holding its partitions forever.
    """

    def __init__(self, app: faust.App) -> None:
        self.app = app
        self._since: float | None = None
        self._current = ""
        self._partitions: dict[str, int] = {}

    async def _partition_of(self, producer: Any, topic: str, key: bytes | None, src: Source) -> int:
        """The partition Kafka's default partitioner (murmur2, as every Fengqiao client) gives
        ``key`` on ``topic``; a keyless record (a dead letter without a usable key) goes to
        the partition of the same number as its input's, modulo the topic's."""
        count = self._partitions.get(topic)
        if count is None:
            await producer.client._wait_on_metadata(topic)
            count = self._partitions[topic] = len(
                producer.client.cluster.partitions_for_topic(topic)
            )
        return src.partition % count if key is None else _key_partition(key, count)

    def waiting_for(self) -> tuple[float, str]:
        """Seconds the write in progress has taken so far (0 when none), and what it is."""
        if self._since is None:
            return 0.0, ""
        return time.monotonic() - self._since, self._current

    async def write(self, sources: Sequence[Source]) -> None:
        """Append everything ``sources`` collected to their transactions, in their order.

        Raises ``ProducerSendError`` when this worker has no producer for a partition any
        more (it was revoked while the records were processed).
        """
        producer: Any = self.app.producer  # faust's aiokafka Producer: transactions and locks
        by_transaction: dict[str, list[Source]] = {}
        for src in sources:
            by_transaction.setdefault(src.transactional_id, []).append(src)
        for tid, group in by_transaction.items():
            transaction = producer._transaction_producers.get(tid)
            if transaction is None:
                raise ProducerSendError(f"no transactional producer {tid} for {group[0].where}")
            self._since = time.monotonic()
            self._current = f"{len(group)} records from {group[0].where} in transaction {tid}"
            try:
                async with producer._trn_locks[tid]:
                    await self._append(transaction, group)
            finally:
                self._since = None

    async def _append(self, transaction: Any, group: Sequence[Source]) -> None:
        """One record batch per topic partition, filled in record order; a full one is sent
        and a new one started."""
        batches: dict[tuple[str, int], Any] = {}
        for src in group:
            for topic, key, value, partition, headers in src.outgoing:
                if partition is None:
                    partition = await self._partition_of(transaction, topic, key, src)
                batch = batches.get((topic, partition))
                if batch is not None:
                    if (
                        batch.append(key=key, value=value, timestamp=None, headers=headers)
                        is not None
                    ):
                        continue
                    await _send(transaction, batch, topic, partition)  # full
                batch = batches[(topic, partition)] = transaction.create_batch()
                # An empty batch takes any one record, however large.
                batch.append(key=key, value=value, timestamp=None, headers=headers)
        for (topic, partition), batch in batches.items():
            await _send(transaction, batch, topic, partition)


async def _send(transaction: Any, batch: Any, topic: str, partition: int) -> None:
    # Closed: sent as soon as the producer can, not after its linger (nothing more comes).
    batch.close()
    await transaction.send_batch(batch, topic, partition=partition)


# Cached: a case or a grid writes many records, and the hash is computed in Python.
_key_partition = functools.lru_cache(maxsize=200_000)(partition_for)


def rejection(submission: Event, code: str, message: str) -> SubmissionRejected:
    """The refusal of ``submission``; the same submission always gets the same event id."""
    env = submission.envelope
    return SubmissionRejected(
        envelope=_rejection_envelope(env),
        submission_event_id=env.event_id,
        submission_type=submission.event_type,
        submission_key=submission.key(),
        submission_source_system=env.source_system,
        code=code,
        message=message[:2000],
    )


def dead_letter(src: Source, exc: DecodeError) -> tuple[Headers, SubmissionRejected | None]:
    """The headers of the dead letter of ``src``, and its POISON_RECORD rejection when the
    record's key can name the submitter's stream (``None`` otherwise)."""
    headers: Headers = dead_letter_headers(exc.reason, src.topic, src.partition, src.offset)
    key = src.key.decode(errors="replace") if src.key else ""
    if not 1 <= len(key) <= 64:
        return headers, None
    poison_id = f"poison/{src.inbox}/{src.partition}/{src.offset}"
    at = datetime.fromtimestamp(src.timestamp, UTC)
    cause = Envelope(
        event_id=poison_id,
        event_time=at,
        recorded_time=at,
        source_system=UNKNOWN,
        actor=DERIVED_ACTOR,
    )
    refused = SubmissionRejected(
        envelope=_rejection_envelope(cause),
        submission_event_id=poison_id,
        submission_type=UNKNOWN,
        submission_key=key,
        submission_source_system=UNKNOWN,
        code=POISON_RECORD,
        message=f"record {src.where} cannot be decoded ({exc.reason}); its bytes are on "
        f"{dlq(src.topic)}"[:2000],
    )
    return headers, refused


def _rejection_envelope(cause: Envelope) -> Envelope:
    return derived_envelope(cause, "rejected", 1).model_copy(update={"sequence": None})
