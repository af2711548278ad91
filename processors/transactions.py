"""Each input partition's writes and its consumed offset, committed in one Kafka transaction.

The worker owns some partitions of the inboxes. For each one it keeps an ``Owned``: a
confluent-kafka transactional producer whose ``transactional.id`` is named for that
partition (``<app id>-eo-<topic>-<partition>``, the same on every worker and across restarts),
the next offset to decide, and the next offset after the last record whose outputs are in
the open transaction. ``Transactions.write`` appends a batch's outputs to the open
transaction; ``commit`` sends exactly that offset to the transaction
(``send_offsets_to_transaction``, for the consumer group of the app) and commits it. So a
committed offset covers exactly the records whose outputs that same commit made visible:
after any crash the next worker reads on from there, and nothing answered is decided again.

Taking a partition (``start``) fences its previous owner: ``init_transactions`` under the
same ``transactional.id`` aborts that owner's open transaction, or waits until its commit
has finished, and no later write of it can commit. Only then is the committed offset read
(a stable one: nothing pending), and the partition's tables restored by the caller, so
the worker decides on from exactly what committed, against exactly the state it left.

A record below the next offset to decide was decided already (it is in the open
transaction, or committed before this worker took the partition) and is skipped; a record
above it means offsets were passed over, which ``admit`` reports (``Skipped``) for the caller
to tell a hole of records from one of transaction markers (``holds_records``).

Blocking client calls run in a thread pool of their own, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from events.kafka_access import kafka_config
from events.kafka_io import produce, reader
from processors.outputs import Outgoing
from processors.settings import WorkflowSettings

__all__ = [
    "Owned",
    "Skipped",
    "TransactionFailed",
    "Transactions",
    "holds_records",
    "transactional_id",
]

log = logging.getLogger("fengqiao.transactions")
T = TypeVar("T")
CLIENT_TIMEOUT_S = 60.0


class TransactionFailed(RuntimeError):
    """A transaction of an input partition could not begin, take offsets or commit."""


@dataclass(frozen=True)
class Skipped:
    """Offsets ``[start, end)`` of a partition were never handed over before ``end``."""

    start: int
    end: int


def transactional_id(app_id: str, topic: str, partition: int) -> str:
    """The transactional id of an input partition: stable across workers and restarts, and
    unlike faust's own (``<app id>-<group>-<partition>``), so the two never fence each other."""
    return f"{app_id}-eo-{topic}-{partition}"


@dataclass(eq=False)
class Owned:
    """One input partition this worker owns, while it owns it."""

    topic: str
    partition: int
    producer: Producer | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    next_offset: int = 0  # the next offset to decide
    pending: int | None = None  # next offset after the open transaction's last record
    committed_at: float = field(default_factory=time.monotonic)

    @property
    def where(self) -> str:
        return f"{self.topic}[{self.partition}]"


class Transactions:
    """The owned input partitions of one worker, their producers and their offsets."""

    def __init__(self, settings: WorkflowSettings) -> None:
        self.settings = settings
        self.owned: dict[tuple[str, int], Owned] = {}
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="fq-txn")
        self._group: Consumer | None = None

    # --- owning partitions -----------------------------------------------------------------
    def take(self, partitions: Iterable[tuple[str, int]]) -> list[Owned]:
        """Own these partitions from now on; the ones new to this worker, to ``start``."""
        self._group_consumer()  # built here, on the loop, before any thread needs it
        new = []
        for topic, partition in partitions:
            if (topic, partition) not in self.owned:
                owned = self.owned[(topic, partition)] = Owned(topic, partition)
                new.append(owned)
        return new

    async def start(self, owned: Owned, restore: Callable[[], Callable[[], None]]) -> bool:
        """Fence the partition's previous owner, read its committed offset, run ``restore``
        (blocking: it reads the partition's tables and returns how to install them), install
        them and let records of the partition be decided. ``False`` when the partition was
        released meanwhile: then nothing is installed."""
        owned.producer = await self._run(self._fenced_producer, owned)
        offset = await self._run(self._committed, owned)
        install = await self._run(restore)
        if self.current(owned.topic, owned.partition) is not owned:
            async with owned.lock:
                await self._run(self._close, owned)
            return False
        install()
        owned.next_offset = offset
        owned.committed_at = time.monotonic()
        owned.ready.set()
        log.info("%s taken at offset %d", owned.where, offset)
        return True

    async def release(self, keep: Iterable[tuple[str, int]]) -> list[Owned]:
        """Give up every owned partition not in ``keep``; their open transactions are aborted
        (a write decided after the last commit) and their producers closed. The released."""
        kept = set(keep)
        gone = [o for tp, o in self.owned.items() if tp not in kept]
        for owned in gone:
            del self.owned[(owned.topic, owned.partition)]  # later writes of it are dropped
        for owned in gone:
            async with owned.lock:
                await self._run(self._close, owned)
        return gone

    def current(self, topic: str, partition: int) -> Owned | None:
        """The partition as owned now (``None``: not this worker's)."""
        return self.owned.get((topic, partition))

    # --- deciding and writing --------------------------------------------------------------
    @staticmethod
    def admit(owned: Owned, offset: int) -> bool | Skipped:
        """Whether the record at ``offset`` is to be decided: ``False`` when it was decided
        already (delivered again), ``Skipped`` when offsets before it never were delivered."""
        expected = owned.next_offset
        if offset < expected:
            return False
        owned.next_offset = offset + 1
        return Skipped(expected, offset) if offset > expected else True

    async def write(self, owned: Owned, outgoing: Sequence[Outgoing], next_offset: int) -> bool:
        """Append ``outgoing`` to the partition's open transaction (one is begun if none is),
        as the outputs of its records up to ``next_offset``; ``False`` when the partition is
        no longer this one's (its records are then left to the next owner)."""
        async with owned.lock:
            if self.current(owned.topic, owned.partition) is not owned:
                return False
            producer = owned.producer
            assert producer is not None, "written before it was started"
            if owned.pending is None:
                _call(owned, "begin", producer.begin_transaction)
            for topic, key, value, partition, headers in outgoing:
                produce(producer, topic, value, key, partition=partition, headers=headers,
                        serve=False)  # fmt: skip
            producer.poll(0)
            owned.pending = next_offset
        return True

    async def commit(self, owned: Iterable[Owned] | None = None) -> int:
        """Commit the open transactions (of ``owned``, or of every owned partition), each
        with its partition's offset; how many were committed. Raises ``TransactionFailed``."""
        todo = [
            o for o in (self.owned.values() if owned is None else owned) if o.pending is not None
        ]
        results = await asyncio.gather(*(self._commit_one(o) for o in todo))
        return sum(results)

    def stalled(self, now: float, limit_s: float) -> list[Owned]:
        """Partitions whose open transaction has waited for a commit for over ``limit_s``."""
        return [
            o
            for o in self.owned.values()
            if o.pending is not None and now - o.committed_at > limit_s
        ]

    async def _commit_one(self, owned: Owned) -> bool:
        async with owned.lock:
            if owned.pending is None or self.current(owned.topic, owned.partition) is not owned:
                return False
            await self._run(self._commit_blocking, owned, owned.pending)
            owned.pending = None
            owned.committed_at = time.monotonic()
            return True

    async def close(self) -> None:
        """Commit what is open, then close every producer (the worker is stopping)."""
        await self.commit()
        await self.release(())
        if self._group is not None:
            self._group.close()
        self._pool.shutdown(wait=False)

    # --- the blocking client calls ---------------------------------------------------------
    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, func, *args)

    def _group_consumer(self) -> Consumer:
        # Never subscribes: its group metadata (group id only, no generation) is what offsets
        # sent to a transaction are committed under; the broker takes it for any member.
        if self._group is None:
            self._group = Consumer(
                kafka_config(
                    self.settings.kafka_bootstrap,
                    **{
                        "group.id": self.settings.workflow_app_id,
                        "enable.auto.commit": False,
                        "isolation.level": "read_committed",  # committed() asks for stable offsets
                        "log_level": 3,
                    },
                )
            )
        return self._group

    def _fenced_producer(self, owned: Owned) -> Producer:
        tid = transactional_id(self.settings.workflow_app_id, owned.topic, owned.partition)
        producer = Producer(
            kafka_config(
                self.settings.kafka_bootstrap,
                **{
                    "transactional.id": tid,
                    "partitioner": "murmur2_random",  # Kafka's default: a key's partition anywhere
                    "linger.ms": self.settings.producer_linger_ms,
                    "batch.size": self.settings.producer_batch_bytes,
                    "queue.buffering.max.messages": 1_000_000,
                    "log_level": 3,
                },
            )
        )
        _call(owned, "init", producer.init_transactions, CLIENT_TIMEOUT_S)
        return producer

    def _committed(self, owned: Owned) -> int:
        tp = TopicPartition(owned.topic, owned.partition)
        (found,) = _call(owned, "read the offset of", self._group_consumer().committed, [tp],
                         CLIENT_TIMEOUT_S)  # fmt: skip
        return max(found.offset, 0)  # OFFSET_INVALID (-1001): nothing committed yet

    def _commit_blocking(self, owned: Owned, offset: int) -> None:
        producer = owned.producer
        assert producer is not None
        offsets = [TopicPartition(owned.topic, owned.partition, offset)]
        metadata = self._group_consumer().consumer_group_metadata()
        _call(owned, "send offsets to", producer.send_offsets_to_transaction, offsets, metadata,
              CLIENT_TIMEOUT_S)  # fmt: skip
        _call(owned, "commit", producer.commit_transaction, CLIENT_TIMEOUT_S)

    @staticmethod
    def _close(owned: Owned) -> None:
        producer, owned.producer = owned.producer, None
        if producer is None:
            return
        if owned.pending is not None:
            owned.pending = None
            try:
                producer.abort_transaction(CLIENT_TIMEOUT_S)
            except KafkaException as exc:  # fenced already: the next owner aborted it
                log.warning("%s: abort on release: %s", owned.where, exc)
        producer.flush(CLIENT_TIMEOUT_S)


def _call(owned: Owned, what: str, func: Callable[..., T], *args: Any) -> T:
    """``func(*args)``, with a client error converted to ``TransactionFailed``."""
    try:
        return func(*args)
    except KafkaException as exc:
        raise TransactionFailed(f"{what} the transaction of {owned.where}: {exc}") from exc


def holds_records(bootstrap: str, topic: str, partition: int, start: int, end: int) -> bool:
    """Whether a read-committed consumer finds a record at an offset in ``[start, end)``: a
    jump over transaction markers and aborted records only is no hole."""
    consumer = reader(bootstrap, "delivery-check", log_level=2)
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
