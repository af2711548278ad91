"""The faust app of the workflow processor, and the one seam between faust and the workflow.

``create_app(settings)`` builds one app; ``fengqiao process`` runs it in a worker. faust
consumes the three inboxes as raw bytes (no faust records: our Avro codec is the only schema),
runs one agent per inbox and the timers, and tells the worker which partitions it owns. It
commits nothing and keeps no table: every batch's outputs, table changes and consumed offsets
go to the transaction of their input partition on a confluent-kafka transactional producer
(``processors.transactions``), and the tables are the workflow's own
(``processors.changelog``).

What faust-streaming 0.15.3 would do otherwise, and why this module keeps it from it:

- Commit offsets ahead of, or behind, the outputs. faust commits the offsets of *acked*
  records, which it takes before it locks the transaction they go in, and ``_new_offset``
  builds them from runs of acked offsets that accept one that begins a record after the
  committed offset (faust-streaming issue #606): one transaction that held the answers to
  inbox offsets 8-96 committed offset 10, and a restarted worker decided 11-96 again. So the
  inboxes are declared with ``acks=False`` (``Topic.acks``): faust records no acked offset for
  them, so it has nothing to commit, at its interval, on a rebalance or on stop;
  ``stream_wait_empty=False`` keeps it from waiting on acks that never come.
  ``tests/unit/test_faust_seam.py`` fails if faust starts recording acks of such a topic.
- Restore a table from a changelog written in transactions only after 10-15 s: its recovery
  waits for the offset before the high watermark, which is the commit marker and is never
  delivered, until ``detect_aborted_tx`` has seen two 5 s timeouts (with the session
  timeout, the 23 s a restarted worker took to commit again). The workflow keeps its own
  tables and restores them to the last stable offset.
- Seek a partition back to its committed offset on every rebalance and hand its records over
  again, also those already decided in the open transaction: ``Transactions.admit`` skips
  them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.streams import Stream
from faust.types import TP, AppT

from events.codec import AvroCodec
from events.collector import freeze_start_up
from events.kafka_access import KafkaAccess
from events.registry import SchemaRegistry
from events.topics import CASE_INBOX, REFERENCE_INBOX, VISIT_INBOX
from processors.changelog import Table, changelog_topic, restore
from processors.outputs import Source
from processors.reference_feed import ReferenceFeed
from processors.settings import WorkflowSettings
from processors.transactions import Owned, Skipped, Transactions, holds_records
from processors.trigger import DeadlineTrigger
from processors.workflow import Tables, Workflow, fatal

__all__ = [
    "STREAM_PARTITIONS",
    "TABLES",
    "SkippedRecords",
    "WorkflowApp",
    "create_app",
    "faust_options",
    "run_worker",
]

log = logging.getLogger("fengqiao.app")
STREAM_PARTITIONS = 12  # as infra.topics declares the case and visit topics
TABLES = ("cases", "visit_grids", "visits", "reference_answers")
"""The names of the workflow's tables; each has the changelog ``changelog_topic(app id, name)``."""
STATS_INTERVAL_S = 10.0
_GC_OLDER = (50, 100)  # the older generations' thresholds (Python's: 10, 10; see run_worker)
Handler = Callable[[Any], Awaitable[Source]]


class SkippedRecords(RuntimeError):
    """faust delivered a record while earlier ones of its partition were never delivered."""


def faust_options(settings: WorkflowSettings) -> dict[str, Any]:
    """The faust settings that decide throughput, shared with the pass-through baseline of
    the workflow benchmark so that the two are measured like for like."""
    return {
        "broker": f"kafka://{settings.kafka_bootstrap}",
        "broker_credentials": faust_credentials(
            KafkaAccess.for_bootstrap(settings.kafka_bootstrap)
        ),
        # faust commits nothing of the workflow's (see the module's docstring); its own
        # transactions would only add a producer per partition, never used.
        "processing_guarantee": "at_least_once",
        "stream_wait_empty": False,
        "store": "memory://",
        "topic_partitions": STREAM_PARTITIONS,
        "broker_commit_interval": settings.commit_interval_s,
        "producer_linger_ms": settings.producer_linger_ms,
        "producer_max_batch_size": settings.producer_batch_bytes,
        "stream_buffer_maxsize": settings.stream_buffer,
        "consumer_auto_offset_reset": "earliest",
        "autodiscover": False,
    }


def faust_credentials(access: KafkaAccess) -> faust.types.auth.CredentialsT | None:
    """faust's form of the Kafka security settings (None: plaintext)."""
    if access.sasl:
        return faust.SASLCredentials(
            username=access.sasl_username,
            password=access.sasl_password.get_secret_value() if access.sasl_password else None,
            ssl_context=access.ssl_context() if access.tls else None,
            mechanism=access.sasl_mechanism,
        )
    return faust.SSLCredentials(access.ssl_context()) if access.tls else None


def inbox_topic(app: faust.App, name: str, partitions: int) -> faust.TopicT:
    """An inbox as faust consumes it: raw bytes, declared by infra, never acked."""
    return app.topic(
        name,
        partitions=partitions,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        internal=False,  # declared by infra (fengqiao process checks), never by faust
        acks=False,  # faust must never commit an inbox offset: see the module's docstring
    )


class WorkflowApp:
    """The faust app with the workflow's handlers, transactions, tables and feed."""

    def __init__(self, settings: WorkflowSettings) -> None:
        self.settings = settings
        self.faust = faust.App(
            settings.workflow_app_id,
            **faust_options(settings),
            topic_replication_factor=settings.replication_factor,
            table_standby_replicas=0,
            broker_session_timeout=settings.session_timeout_s,
            consumer_group_instance_id=settings.group_instance_id,
            web_enabled=settings.web_port > 0,
            web_port=settings.web_port or 6066,
            datadir=settings.data_dir(),
        )
        self.codec = AvroCodec(SchemaRegistry(settings.registry_url))
        self.feed = ReferenceFeed(settings, self.codec)
        cases, grids, visits, reference_answers = (
            Table(name, changelog_topic(settings.workflow_app_id, name)) for name in TABLES
        )
        self.tables = Tables(cases, grids, visits, reference_answers)
        self.workflow = Workflow(settings, self.codec, self.tables, self.feed)
        self.transactions = Transactions(settings)
        self.inboxes = {
            settings.topic(logical): logical
            for logical in (CASE_INBOX, VISIT_INBOX, REFERENCE_INBOX)
        }
        self.trigger = DeadlineTrigger(
            settings, self.codec, self.tables.cases, self.feed, self._owned_cases, self._send
        )
        self._starting: set[asyncio.Task[None]] = set()
        self._mount()

    def _owned_cases(self) -> set[int]:
        inbox = self.settings.topic(CASE_INBOX)
        return {
            p for (t, p), o in self.transactions.owned.items() if t == inbox and o.ready.is_set()
        }

    async def _send(self, topic: str, key: bytes, value: bytes, partition: int) -> None:
        await self.faust.producer.send(topic, key, value, partition, None, None)

    def _mount(self) -> None:
        app, workflow = self.faust, self.workflow
        handlers = (
            ("cases", CASE_INBOX, STREAM_PARTITIONS, workflow.on_case),
            ("visits", VISIT_INBOX, STREAM_PARTITIONS, workflow.on_visit),
            ("reference", REFERENCE_INBOX, 1, workflow.on_reference),
        )
        for name, logical, partitions, handle in handlers:
            topic = inbox_topic(app, self.settings.topic(logical), partitions)
            app.agent(topic, name=f"fengqiao.{name}")(
                _consume(self.settings, handle, self.transactions, name)
            )
        app.task(self.feed.run)
        if self.settings.trigger_interval_s > 0:
            app.timer(self.settings.trigger_interval_s, on_leader=False)(self.trigger.run)
        app.timer(self.settings.commit_interval_s)(self._commit)
        app.timer(STATS_INTERVAL_S)(self._log_stats)

        @app.on_partitions_revoked.connect
        async def _revoked(sender: AppT, /, *args: Any, signal: Any, **kwargs: Any) -> None:
            # The partitions may go to another worker: it reads on from what commits now.
            await self._commit()

        @app.on_partitions_assigned.connect
        async def _assigned(sender: AppT, /, *args: Any, signal: Any, **kwargs: Any) -> None:
            assigned: set[TP] = args[0]
            await self.take({(tp.topic, tp.partition) for tp in assigned})

        @app.on_before_shutdown.connect
        async def _stopping(sender: AppT, /, *args: Any, signal: Any, **kwargs: Any) -> None:
            try:
                await self.transactions.close()
            except Exception as exc:  # noqa: BLE001 (nothing is lost: the next owner fences it)
                log.warning("stopping: the open transactions did not commit: %s", exc)

    async def take(self, assigned: set[tuple[str, int]]) -> None:
        """Own the inbox partitions of ``assigned`` and no others: the released lose their
        tables; the new ones are fenced and restored in the background, their records held
        back until then (``Owned.ready``)."""
        inboxes = {tp for tp in assigned if tp[0] in self.inboxes}
        for gone in await self.transactions.release(inboxes):
            self._forget(gone)
        for owned in self.transactions.take(sorted(inboxes)):
            task = asyncio.create_task(self._start(owned))
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)

    def _forget(self, owned: Owned) -> None:
        logical = self.inboxes[owned.topic]
        for table in self.tables.of_inbox(logical):
            table.drop(owned.partition)
        if logical == REFERENCE_INBOX:
            self.workflow.forget_reference_writer()
        owned.ready.set()  # an agent waiting on it sees it is no longer owned

    async def _start(self, owned: Owned) -> None:
        tables = self.tables.of_inbox(self.inboxes[owned.topic])
        started = time.monotonic()
        try:
            taken = await self.transactions.start(owned, lambda: self._restore(owned, tables))
        except Exception as exc:  # noqa: BLE001 (a partition that cannot be taken ends the worker)
            fatal(f"taking {owned.where}", exc)
        if not taken:  # released while it was being taken
            return
        log.info("%s ready in %.2fs", owned.where, time.monotonic() - started)

    def _restore(self, owned: Owned, tables: list[Table]) -> Callable[[], None]:
        restored = restore(self.settings.kafka_bootstrap, tables, owned.partition)
        log.info("%s: %d changelog records restored", owned.where, restored.records)
        return restored.install

    async def _commit(self) -> None:
        try:
            await self.transactions.commit()
        except Exception as exc:  # noqa: BLE001 (the tables hold what did not commit: end now)
            fatal("committing", exc)

    async def _log_stats(self) -> None:
        counts = self.workflow.counts + self.trigger.counts
        if counts:
            log.info("workflow counts: %s", dict(sorted(counts.items())))
        stalled = self.transactions.stalled(time.monotonic(), self.settings.commit_stall_s)
        if stalled:
            # Decided but never committed: invisible to every reader, partitions held.
            where = ", ".join(o.where for o in stalled)
            fatal(
                f"no transaction of {where} has committed for {self.settings.commit_stall_s:g}s",
                TimeoutError(where),
            )


def _consume(
    settings: WorkflowSettings, handle: Handler, transactions: Transactions, name: str
) -> Any:
    async def agent(stream: Stream[bytes]) -> None:
        batches = stream.take_events(settings.batch_records, within=settings.batch_wait_ms / 1000)
        async for events in batches:
            decided: dict[Owned, list[Source]] = {}
            for event in events:
                message = event.message
                owned = await _admitted(settings, transactions, message)
                if owned is None:
                    continue
                try:
                    decided.setdefault(owned, []).append(await handle(message))
                except Exception as exc:  # noqa: BLE001 (all that is not an outcome ends the worker)
                    fatal(f"processing {_where(message)}", exc)
            for owned, sources in decided.items():
                outgoing = [record for src in sources for record in src.outgoing]
                try:
                    await transactions.write(owned, outgoing, sources[-1].offset + 1)
                except Exception as exc:  # noqa: BLE001 (its table updates are applied: end now)
                    fatal(f"writing {len(sources)} records from {sources[0].where}", exc)

    agent.__name__ = agent.__qualname__ = f"{name}_agent"  # how faust's logs name it
    return agent


async def _admitted(
    settings: WorkflowSettings, transactions: Transactions, message: Any
) -> Owned | None:
    """The owned partition of ``message`` when the record is to be decided now; ``None`` when
    it is not this worker's, or was decided already."""
    owned = transactions.current(message.topic, message.partition)
    while owned is not None and not owned.ready.is_set():
        await owned.ready.wait()  # its tables are being restored
        owned = transactions.current(message.topic, message.partition)
    if owned is None:
        return None  # released while it was on its way: the next owner decides it
    verdict = transactions.admit(owned, message.offset)
    if isinstance(verdict, Skipped):
        await _end_if_records_skipped(settings, message, verdict)
        return owned
    return owned if verdict else None


def _where(message: Any) -> str:
    return f"{message.topic}[{message.partition}]@{message.offset}"


async def _end_if_records_skipped(settings: WorkflowSettings, message: Any, hole: Skipped) -> None:
    """End the worker, uncommitted, when the offsets of ``hole``, never delivered, hold
    records: committing past them would leave them without an outcome."""
    args = (settings.kafka_bootstrap, message.topic, message.partition, hole.start, hole.end)
    if await asyncio.get_running_loop().run_in_executor(None, holds_records, *args):
        where = _where(message)
        fatal(
            f"{where} was delivered, but offsets {hole.start}..{hole.end - 1} of its partition "
            "never were",
            SkippedRecords(where),
        )


def run_worker(app: faust.App, loglevel: str) -> None:
    """Run a faust worker of ``app`` until it is stopped, logging at ``loglevel``.

    Without faust's terminal spinner: to feed it, faust sets the root logger to DEBUG, so every
    debug call of aiokafka's hot paths (several per record sent) would build a log record.

    With fewer garbage collections (``events.collector.freeze_start_up``), and the older
    generations' thresholds raised as well: the tables are restored and grow after this
    freeze, and full collections of their long-lived records had taken 5% of a busy worker's
    CPU.
    """
    freeze_start_up(older=_GC_OLDER)
    worker = faust.Worker(app, loglevel=loglevel, logfile=None)
    worker.spinner = None
    worker.execute_from_commandline()


def create_app(settings: WorkflowSettings) -> WorkflowApp:
    """The workflow app for ``settings``; no I/O happens until a worker starts it."""
    return WorkflowApp(settings)
