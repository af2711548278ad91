"""The reference view every worker decides against, folded from the canonical reference log.

Case and visit decisions need the whole reference data (grids, workers, departments,
categories, SLA policies, calendars), whichever partitions a worker owns. So every worker reads
``fq.reference.events`` (one partition) itself, outside the consumer group, from the start,
reading committed records only, and folds them into a process-local ``ReferenceView``.

Ordering caveat: a case or visit submission is decided against the reference data this worker
has seen when it gets to it. A definition published just before a submission that needs it
may not have reached the worker yet (the submission is then rejected, e.g. UNKNOWN_CATEGORY,
and can be sent again). At start, agents wait until the feed has read the whole log as it
stood then (``ready``), so a restarted worker never decides against a partial view.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import (  # type: ignore[import-untyped]
    AIOKafkaConsumer,
    ConsumerRecord,
    TopicPartition,
)

from domain.reference_view import ReferenceView
from events.codec import AvroCodec
from events.errors import DecodeError
from events.kafka_access import KafkaAccess
from events.models import Event
from events.topics import REFERENCE_EVENTS
from processors.settings import WorkflowSettings

__all__ = ["ReferenceFeed"]

log = logging.getLogger("fengqiao.reference_feed")
BATCH_WAIT_MS = 200


class ReferenceFeed:
    """Follows the committed reference log; ``view`` is everything read so far."""

    def __init__(self, settings: WorkflowSettings, codec: AvroCodec) -> None:
        self.settings = settings
        self.codec = codec
        self.view = ReferenceView()
        self.skipped = 0
        self._tp = TopicPartition(settings.topic(REFERENCE_EVENTS), 0)
        self._consumer: AIOKafkaConsumer | None = None
        self._position = 0
        self._events = 0  # decoded so far
        self._ready = asyncio.Event()
        self._progress = asyncio.Event()

    async def ready(self) -> None:
        """Return once the log as it stood when the feed started has been read."""
        await self._ready.wait()

    async def caught_up(self) -> ReferenceView:
        """The view once everything committed by now has been read."""
        await self._ready.wait()
        target = await self._end_offset()
        while self._position < target:
            self._progress.clear()
            await self._progress.wait()
        return self.view

    async def run(self) -> None:
        """Read and fold the log until cancelled (the app's stop)."""
        consumer = self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            client_id=f"{self.settings.workflow_app_id}-reference-feed",
            **KafkaAccess().aiokafka(),
        )
        await consumer.start()
        try:
            consumer.assign([self._tp])
            await consumer.seek_to_beginning(self._tp)
            start_target = await self._end_offset()
            log.info("reference feed: reading %s up to offset %d", self._tp.topic, start_target)
            while True:
                batches = await consumer.getmany(self._tp, timeout_ms=BATCH_WAIT_MS)
                events = [e for e in map(self._decode, batches.get(self._tp, ())) if e]
                if events:
                    self.view = self.view.apply_all(events)
                self._position = await consumer.position(self._tp)
                if not self._ready.is_set() and self._position >= start_target:
                    log.info(
                        "reference feed ready: %d events, sequence %d",
                        self._events,
                        self.view.sequence,
                    )
                    self._ready.set()
                self._progress.set()
        finally:
            await consumer.stop()

    async def _end_offset(self) -> int:
        assert self._consumer is not None
        offsets = await self._consumer.end_offsets([self._tp])  # read_committed: the LSO
        return int(offsets[self._tp])

    def _decode(self, record: ConsumerRecord[bytes, bytes]) -> Event | None:
        value = record.value or b""
        try:
            event = self.codec.decode(value, REFERENCE_EVENTS, self._tp.partition, record.offset)
        except DecodeError as exc:
            # Named decision: only the workflow writes this log, so this is not expected; the
            # record is left out of the view, logged and counted, never guessed at.
            self.skipped += 1
            log.error("reference feed: skipping undecodable %s: %s", exc, exc.reason)
            return None
        self._events += 1
        return event
