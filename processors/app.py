"""The faust app of the workflow processor: its topics, tables, agents and timers.

``create_app(settings)`` builds one app; ``fengqiao process`` runs it in a worker. The app
consumes the three inboxes as raw bytes (no faust records: our Avro codec is the only
schema) and keeps three tables in memory, rebuilt from their changelog topics on start.

Exactly-once: ``processing_guarantee="exactly_once"`` gives every input partition (of each
co-partitioned group) a transactional producer; faust commits a partition's consumed offsets
in that producer's transaction, and consumers read committed records only. The agents write
all that a record causes, outputs and table changelog records, through the producer of the
record's own input partition in one piece (``outputs.Writer``, which says why faust's own
``topic.send`` and table assignment are not used), so a record's outputs, its state change and
its offset become visible together or not at all.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any

import faust
from faust.streams import Stream
from faust.types import TP, AppT, TableT

from events.codec import AvroCodec
from events.registry import SchemaRegistry
from events.topics import CASE_INBOX, REFERENCE_INBOX, VISIT_INBOX
from processors.commit_watch import CommitWatch
from processors.delivery_guard import DeliveryGuard, SkippedRecords, holds_records
from processors.outputs import Writer
from processors.reference_feed import ReferenceFeed
from processors.settings import WorkflowSettings
from processors.trigger import DeadlineTrigger
from processors.workflow import Tables, Workflow, fatal

__all__ = ["STREAM_PARTITIONS", "WorkflowApp", "create_app", "faust_options", "run_worker"]

log = logging.getLogger("fengqiao.app")
STREAM_PARTITIONS = 12  # as infra.topics declares the case and visit topics
STATS_INTERVAL_S = 10.0
WRITE_STUCK_S = 60.0
_GC_YOUNG = 50_000  # allocations between young garbage collections (see run_worker)


def faust_options(settings: WorkflowSettings) -> dict[str, Any]:
    """The faust settings that decide throughput and guarantees, shared with the pass-through
    baseline of the workflow benchmark so that the two are measured like for like."""
    return {
        "broker": f"kafka://{settings.kafka_bootstrap}",
        "processing_guarantee": "exactly_once",
        "store": "memory://",
        "topic_partitions": STREAM_PARTITIONS,
        "broker_commit_interval": settings.commit_interval_s,
        "producer_linger_ms": settings.producer_linger_ms,
        "producer_max_batch_size": settings.producer_batch_bytes,
        "stream_buffer_maxsize": settings.stream_buffer,
        "consumer_auto_offset_reset": "earliest",
        "autodiscover": False,
    }


class DeliveredDuringRecovery(RuntimeError):
    """faust delivered a record before the worker's tables were restored."""


def _where(event: Any) -> str:
    message = event.message
    return f"{message.topic}[{message.partition}]@{message.offset}"


class WorkflowApp:
    """The faust app with the workflow's handlers and feed, for the worker and for tests."""

    def __init__(self, settings: WorkflowSettings) -> None:
        self.settings = settings
        self.faust = faust.App(
            settings.workflow_app_id,
            **faust_options(settings),
            topic_replication_factor=settings.replication_factor,
            table_standby_replicas=0,
            broker_session_timeout=settings.session_timeout_s,
            web_enabled=settings.web_port > 0,
            web_port=settings.web_port or 6066,
            datadir=settings.data_dir(),
        )
        self.codec = AvroCodec(SchemaRegistry(settings.registry_url))
        self.feed = ReferenceFeed(settings, self.codec)
        self.tables = Tables(
            cases=self._table("cases", STREAM_PARTITIONS),
            grids=self._table("visit_grids", STREAM_PARTITIONS),
            visits=self._table("visits", STREAM_PARTITIONS),
        )
        self.workflow = Workflow(self.faust, settings, self.codec, self.tables, self.feed)
        self.handled: dict[TP, int] = {}  # the last offset the agents handled, per partition
        self.commit_watch: CommitWatch[TP] = CommitWatch(settings.commit_stall_s)
        self.guard = DeliveryGuard(self._committed)
        self.trigger = DeadlineTrigger(
            self.faust, settings, self.codec, self.tables.cases, self.feed
        )
        self._mount()

    def _committed(self, tp: TP) -> int | None:
        """The offset faust sought ``tp`` to when it was assigned (then: its last commit)."""
        consumer: Any = self.faust.consumer
        offset: int | None = consumer._committed_offset.get(tp)
        return offset

    def _topic(self, logical: str, partitions: int) -> faust.TopicT:
        return self.faust.topic(
            self.settings.topic(logical),
            partitions=partitions,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            internal=False,  # declared by infra (fengqiao process checks), never by faust
        )

    def _table(self, name: str, partitions: int) -> TableT[bytes, bytes]:
        return self.faust.Table(
            name,
            partitions=partitions,
            key_type=bytes,  # bytes: faust's "raw" serializer, our own JSON inside
            value_type=bytes,
        )

    def _mount(self) -> None:
        app, workflow = self.faust, self.workflow
        handlers = (
            ("cases", CASE_INBOX, STREAM_PARTITIONS, workflow.on_case),
            ("visits", VISIT_INBOX, STREAM_PARTITIONS, workflow.on_visit),
            ("reference", REFERENCE_INBOX, 1, workflow.on_reference),
        )
        for name, logical, partitions, handle in handlers:
            app.agent(self._topic(logical, partitions), name=f"fengqiao.{name}")(
                _consume(
                    app, self.settings, handle, workflow.writer, name, self.handled, self.guard
                )
            )
        app.task(self.feed.run)
        if self.settings.trigger_interval_s > 0:
            app.timer(self.settings.trigger_interval_s, on_leader=False)(self.trigger.run)
        app.timer(STATS_INTERVAL_S)(self._log_stats)
        reference_inbox = self.settings.topic(REFERENCE_INBOX)

        @app.on_partitions_revoked.connect
        async def _revoked(sender: AppT, /, *args: Any, signal: Any, **kwargs: Any) -> None:
            revoked: set[TP] = args[0]
            for tp in revoked:
                self.handled.pop(tp, None)
                self.guard.forget(tp)
            if any(tp.topic == reference_inbox for tp in revoked):
                workflow.forget_reference_writer()

    async def _log_stats(self) -> None:
        counts = self.workflow.counts + self.trigger.counts
        if counts:
            log.info("workflow counts: %s", dict(sorted(counts.items())))
        waited, what = self.workflow.writer.waiting_for()
        if waited > WRITE_STUCK_S:
            # The transaction never ended: let a restarted worker fence it and go on.
            fatal(f"a write of {what} has waited {waited:.0f}s", TimeoutError(what))
        committed: Any = self.faust.consumer._committed_offset  # type: ignore[attr-defined]  # faust's own
        stalled = self.commit_watch.stalled(self.handled, committed, time.monotonic())
        if stalled:
            # Decided but never committed: invisible to every reader, partitions held.
            where = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in stalled)
            fatal(
                f"no transaction of {where} has committed for {self.settings.commit_stall_s:g}s",
                TimeoutError(where),
            )


def _consume(
    app: faust.App,
    settings: WorkflowSettings,
    handle: Any,
    writer: Writer,
    name: str,
    handled: dict[TP, int],
    guard: DeliveryGuard,
) -> Any:
    async def agent(stream: Stream[bytes]) -> None:
        # faust acks the records of a batch when the next batch is asked for, after the write.
        batches = stream.take_events(settings.batch_records, within=settings.batch_wait_ms / 1000)
        async for events in batches:
            sources = []
            for event in events:
                hole = guard.hole(event.message.tp, event.message.offset)
                if hole is not None:  # rare: only then is there I/O (and a coroutine) per record
                    await _end_if_records_skipped(settings, event, hole)
                if app.in_recovery:
                    # faust resumes its fetcher while it restores the tables, and under a
                    # rebalance it can hand over stream records then: decided against tables
                    # still being restored, a record gets a wrong answer (UNKNOWN_CASE for a
                    # case that exists) that commits. Exit uncommitted instead; the record is
                    # decided again, in order, by a worker whose tables are whole.
                    where = _where(event)
                    fatal(
                        f"{where} was delivered while the tables were being restored",
                        DeliveredDuringRecovery(where),
                    )
                try:
                    sources.append(await handle(event))
                except Exception as exc:  # noqa: BLE001 (all that is not an outcome ends the worker)
                    fatal(f"processing {_where(event)}", exc)
            try:
                await writer.write(sources)
            except Exception as exc:  # noqa: BLE001 (its table updates are applied: end now)
                fatal(f"writing {len(sources)} records from {_where(events[0])}", exc)
            for event in events:
                handled[event.message.tp] = event.message.offset

    agent.__name__ = agent.__qualname__ = f"{name}_agent"  # how faust's logs name it
    return agent


async def _end_if_records_skipped(
    settings: WorkflowSettings, event: Any, hole: tuple[int, int]
) -> None:
    """End the worker, uncommitted, when the offsets ``hole`` of ``event``'s partition, never
    delivered, hold records (see ``processors.delivery_guard``)."""
    message = event.message
    start, end = hole
    args = (settings.kafka_bootstrap, message.topic, message.partition, start, end)
    if await asyncio.get_running_loop().run_in_executor(None, holds_records, *args):
        where = _where(event)
        fatal(
            f"{where} was delivered, but offsets {start}..{end - 1} of its partition never were",
            SkippedRecords(where),
        )


def run_worker(app: faust.App, loglevel: str) -> None:
    """Run a faust worker of ``app`` until it is stopped, logging at ``loglevel``.

    Without faust's terminal spinner: to feed it, faust sets the root logger to DEBUG, so every
    debug call of aiokafka's hot paths (several per record sent) would build a log record.

    With fewer garbage collections: what is loaded at start is frozen out of them, and young
    objects are collected every ``_GC_YOUNG`` allocations instead of 700. The tables' records
    are long-lived and full collections of them had taken 5% of a busy worker's CPU; asyncio's
    short-lived cycles (futures, exceptions) are still collected while young.
    """
    gc.freeze()
    gc.set_threshold(_GC_YOUNG, 50, 100)
    worker = faust.Worker(app, loglevel=loglevel, logfile=None)
    worker.spinner = None
    worker.execute_from_commandline()


def create_app(settings: WorkflowSettings) -> WorkflowApp:
    """The workflow app for ``settings``; no I/O happens until a worker starts it."""
    return WorkflowApp(settings)
