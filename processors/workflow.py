"""The workflow's agents: decode a submission, ask the pure core, write what it answered.

One handler per inbox. Each takes the raw record faust consumed (bytes, never a faust record),
decodes it with our Avro codec, calls the pure ``decide`` of its stream and writes the
outcome: the canonical events, a ``SubmissionRejected``, or for a duplicate the bytes that were
written the first time. Every write of a record, outputs and table changelog alike, goes
through the transactional producer of the record's own input partition, so the outputs, the
table update and the consumed offset commit in one Kafka transaction (see ``app.py``).

Bad input never stops an agent: an undecodable record goes to ``<inbox>.dlq`` with its reason
and a ``POISON_RECORD`` rejection; a submission whose key is not its stream key is rejected
(``WRONG_KEY``); a submission on which the pure rules raise is rejected (``RULES_ERROR``).
Anything else (registry or broker failure, a bug) ends the process at once, before its
transaction commits, so the record is processed again by the next worker: see ``fatal``.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, cast

import faust
from faust.types import EventT, TableT

from events.codec import AvroCodec
from events.errors import DecodeError
from events.models import CaseEvent, Envelope, Event, SubmissionRejected, VisitRecorded
from events.topics import (
    CASE_EVENTS,
    CASE_INBOX,
    REFERENCE_EVENTS,
    REFERENCE_INBOX,
    REJECTIONS,
    VISIT_EVENTS,
    VISIT_INBOX,
    dlq,
)
from processors.reference_feed import ReferenceFeed
from processors.rules.case_state import evolve
from processors.rules.decisions import (
    DERIVED_ACTOR,
    Accepted,
    Decision,
    Duplicate,
    Rejected,
    derived_envelope,
)
from processors.rules.errors import RulesError
from processors.rules.reference_rules import decide_reference
from processors.rules.reference_view import ReferenceView
from processors.rules.state_machine import decide
from processors.rules.visit_rules import decide_visit
from processors.settings import WorkflowSettings
from processors.state_store import (
    CaseRecord,
    GridVisits,
    StoredEvent,
    dumps,
    dumps_grid,
    dumps_written,
    loads,
    loads_grid,
    loads_written,
)

__all__ = ["POISON_RECORD", "RULES_ERROR", "WRONG_KEY", "Source", "Tables", "Workflow", "fatal"]

log = logging.getLogger("fengqiao.workflow")
Table = TableT[bytes, bytes]
Submission = EventT[bytes]

# Rejection codes of the I/O shell, beside the pure core's ``RejectionCode``.
POISON_RECORD = "POISON_RECORD"
WRONG_KEY = "WRONG_KEY"
RULES_ERROR = "RULES_ERROR"
UNKNOWN = "unknown"
FATAL_EXIT = 70  # EX_SOFTWARE
RECORD_CACHE = 20_000


def fatal(what: str, exc: BaseException) -> NoReturn:
    """End the worker now, without committing the open transactions.

    faust acks a record whose agent raised, and its shutdown commits acked offsets, so letting
    an unexpected error unwind would skip the record. Exiting here leaves the transaction
    open; the broker aborts it when the next worker fences this one, and that worker
    processes the record again (a `kill -9`, which the workflow is built to survive).
    """
    log.critical("%s: %s\n%s", what, exc, "".join(traceback.format_exception(exc)))
    logging.shutdown()
    sys.stderr.flush()
    os._exit(FATAL_EXIT)


@dataclass(frozen=True)
class Source:
    """The record being processed, and the transaction its writes belong to."""

    inbox: str  # logical name (events.topics)
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp: float
    transactional_id: str

    @property
    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True)
class Tables:
    """The workflow's tables: case records, visit streams by grid, written visits by id."""

    cases: Table
    grids: Table
    visits: Table


class Workflow:
    """The handlers of the three inboxes, bound to one faust app."""

    def __init__(
        self,
        app: faust.App,
        settings: WorkflowSettings,
        codec: AvroCodec,
        tables: Tables,
        feed: ReferenceFeed,
    ) -> None:
        self.app = app
        self.settings = settings
        self.codec = codec
        self.tables = tables
        self.feed = feed
        self.counts: Counter[str] = Counter()
        self._writer_view: ReferenceView | None = None
        self._written_reference: dict[int, bytes] = {}
        self._records: dict[bytes, tuple[bytes, CaseRecord]] = {}

    # --- the three inboxes -----------------------------------------------------------------
    async def on_case(self, event: Submission) -> None:
        src, submission = await self._received(event, CASE_INBOX)
        if submission is None:
            return
        key = submission.key().encode() if isinstance(submission, CaseEvent) else None
        record = self._case_record(key) if key is not None else None
        state = record.state if record else None
        try:
            decision = decide(state, submission, self.feed.view)
            if isinstance(decision, Accepted):
                for canonical in decision.events:
                    state = evolve(state, cast(CaseEvent, canonical))
        except RulesError as exc:
            await self._rules_failed(src, submission, exc)
            return
        if isinstance(decision, Accepted) and key is not None and state is not None:
            written = await self._append(src, CASE_EVENTS, key, submission, decision.events)
            base = record or CaseRecord(state=state, partition=src.partition)
            record = base.appended(state, written)
            value = dumps(record)
            await self._put(src, self.tables.cases, key, value)
            self._remember(key, value, record)
        elif isinstance(decision, Duplicate) and record is not None and key is not None:
            resend = record.written_for(decision.sequence)
            await self._resend(src, CASE_EVENTS, key, submission, resend)
        else:
            await self._answer(src, submission, decision)

    async def on_visit(self, event: Submission) -> None:
        src, submission = await self._received(event, VISIT_INBOX)
        if submission is None:
            return
        event_id = submission.envelope.event_id.encode()
        seen_raw = self.tables.visits.data.get(event_id)
        seen = loads_written(submission.envelope.event_id, seen_raw) if seen_raw else None
        key = submission.key().encode()
        is_visit = isinstance(submission, VisitRecorded)
        grid_raw = self.tables.grids.data.get(key) if is_visit else None
        grid = loads_grid(grid_raw) if grid_raw else GridVisits(src.partition, 0)
        try:
            decision = decide_visit(
                submission,
                self.feed.view,
                sequence=grid.sequence + 1,
                seen_sequence=seen.sequence if seen else None,
            )
        except RulesError as exc:
            await self._rules_failed(src, submission, exc)
            return
        if isinstance(decision, Accepted):
            (written,) = await self._append(src, VISIT_EVENTS, key, submission, decision.events)
            await self._put(src, self.tables.visits, event_id, dumps_written(written))
            grid = GridVisits(grid.partition, written.sequence)
            await self._put(src, self.tables.grids, key, dumps_grid(grid))
        elif isinstance(decision, Duplicate):
            await self._resend(src, VISIT_EVENTS, key, submission, [seen] if seen else None)
        else:
            await self._answer(src, submission, decision)

    async def on_reference(self, event: Submission) -> None:
        src, submission = await self._received(event, REFERENCE_INBOX)
        if submission is None:
            return
        if self._writer_view is None:
            # The single writer of the reference log decides against everything committed
            # (read after this worker's producer fenced any previous writer) plus its own
            # accepted events, which the feed only sees once their transaction commits.
            self._writer_view = await self.feed.caught_up()
        view = self._writer_view
        try:
            decision = decide_reference(view, submission)
        except RulesError as exc:
            await self._rules_failed(src, submission, exc)
            return
        key = submission.key().encode()
        if isinstance(decision, Accepted):
            written = await self._append(src, REFERENCE_EVENTS, key, submission, decision.events)
            self._writer_view = view.apply_all(decision.events)
            self._written_reference.update((w.sequence, w.value) for w in written)
        elif isinstance(decision, Duplicate):
            sequence = decision.sequence
            value = self._written_reference.get(sequence) or self.feed.written(sequence)
            resend = [StoredEvent(sequence, submission.envelope.event_id, value)] if value else None
            await self._resend(src, REFERENCE_EVENTS, key, submission, resend)
        else:
            await self._answer(src, submission, decision)

    def _case_record(self, key: bytes) -> CaseRecord | None:
        raw = self.tables.cases.data.get(key)
        if raw is None:
            return None
        cached = self._records.pop(key, None)
        record = cached[1] if cached is not None and cached[0] is raw else loads(raw)
        self._remember(key, raw, record)
        return record

    def _remember(self, key: bytes, raw: bytes, record: CaseRecord) -> None:
        # Decoded records of recently active cases, valid while the table holds the very
        # bytes they were decoded from (a recovery or rebalance replaces those).
        self._records.pop(key, None)
        self._records[key] = (raw, record)
        if len(self._records) > RECORD_CACHE:
            del self._records[next(iter(self._records))]

    def forget_reference_writer(self) -> None:
        """The reference inbox was revoked: catch up again before the next decision."""
        self._writer_view = None
        self._written_reference.clear()

    # --- the pieces ------------------------------------------------------------------------
    def source(self, event: Submission, inbox: str) -> Source:
        message = event.message
        group = self.app.assignor.group_for_topic(message.topic)
        return Source(
            inbox=inbox,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value or b"",
            timestamp=message.timestamp,
            # faust's own formula (TransactionManager.commit): one producer per partition of
            # each co-partitioned group; the consumed offset commits in its transaction.
            transactional_id=f"{self.app.conf.id}-{group}-{message.partition}",
        )

    async def _received(self, event: Submission, inbox: str) -> tuple[Source, Event | None]:
        """The record as a submission, once the reference view is ready; ``None`` when it
        was answered already (poison, wrong key)."""
        src = self.source(event, inbox)
        try:
            submission = self.codec.decode(src.value, src.inbox, src.partition, src.offset)
        except DecodeError as exc:
            await self._poison(src, exc)
            return src, None
        if not await self._key_matches(src, submission):
            return src, None
        await self.feed.ready()
        return src, submission

    async def _rules_failed(self, src: Source, submission: Event, exc: RulesError) -> None:
        log.error("the rules failed on %s at %s: %s", submission.envelope.event_id, src.where, exc)
        await self._reject(src, submission, RULES_ERROR, f"{type(exc).__name__}: {exc}")

    async def _key_matches(self, src: Source, submission: Event) -> bool:
        if src.key == submission.key().encode():
            return True
        shown = src.key.decode(errors="replace") if src.key is not None else "no key"
        await self._reject(
            src,
            submission,
            WRONG_KEY,
            f"{submission.event_type} {submission.envelope.event_id} was sent with key "
            f"{shown!r}; its stream key ({submission.key_field}) is {submission.key()!r}. "
            "Publish it keyed by that (the SDK does), so all of its stream stays in order.",
        )
        return False

    async def _append(
        self, src: Source, logical: str, key: bytes, submission: Event, events: Iterable[Event]
    ) -> list[StoredEvent]:
        written = []
        for canonical in events:
            value = self.codec.encode(logical, canonical)
            await self._send(src, logical, key, value)
            sequence = canonical.envelope.sequence or 0
            written.append(StoredEvent(sequence, submission.envelope.event_id, value))
        self.counts["accepted"] += 1
        self.counts["canonical"] += len(written)
        return written

    async def _resend(
        self,
        src: Source,
        logical: str,
        key: bytes | None,
        submission: Event,
        written: Sequence[StoredEvent] | None,
    ) -> None:
        self.counts["duplicates"] += 1
        if not written or key is None:
            # Named decision: the first answer is in the log; only its re-send is skipped.
            self.counts["duplicates_not_resent"] += 1
            log.warning(
                "duplicate %s %s at %s: accepted long ago, outside the kept window; not re-sent",
                submission.event_type,
                submission.envelope.event_id,
                src.where,
            )
            return
        for stored in written:
            await self._send(src, logical, key, stored.value)

    async def _answer(self, src: Source, submission: Event, decision: Decision) -> None:
        if isinstance(decision, Rejected):
            await self._reject(src, submission, str(decision.code), decision.message)
        else:  # a Duplicate without a stored record: the pure core and the table disagree
            fatal(f"{decision!r} for {submission.envelope.event_id} at {src.where}", RuntimeError())

    async def _reject(self, src: Source, submission: Event, code: str, message: str) -> None:
        env = submission.envelope
        rejection = SubmissionRejected(
            envelope=_rejection_envelope(env),
            submission_event_id=env.event_id,
            submission_type=submission.event_type,
            submission_key=submission.key(),
            submission_source_system=env.source_system,
            code=code,
            message=message[:2000],
        )
        value = self.codec.encode(REJECTIONS, rejection)
        await self._send(src, REJECTIONS, rejection.key().encode(), value)
        self.counts["rejected"] += 1
        self.counts[f"rejected.{code}"] += 1

    async def _poison(self, src: Source, exc: DecodeError) -> None:
        self.counts["poison"] += 1
        log.warning("poison record at %s sent to %s: %s", src.where, dlq(src.inbox), exc.reason)
        headers = [
            ("fq.dlq.reason", exc.reason.encode()),
            ("fq.dlq.topic", src.topic.encode()),
            ("fq.dlq.partition", str(src.partition).encode()),
            ("fq.dlq.offset", str(src.offset).encode()),
        ]
        await self._send(src, dlq(src.inbox), src.key, src.value, headers)
        submission_key = src.key.decode(errors="replace") if src.key else ""
        if not 1 <= len(submission_key) <= 64:
            log.warning("poison record at %s has no usable key: no rejection sent", src.where)
            return
        poison_id = f"poison/{src.inbox}/{src.partition}/{src.offset}"
        at = datetime.fromtimestamp(src.timestamp, UTC)
        cause = Envelope(
            event_id=poison_id,
            event_time=at,
            recorded_time=at,
            source_system=UNKNOWN,
            actor=DERIVED_ACTOR,
        )
        rejection = SubmissionRejected(
            envelope=_rejection_envelope(cause),
            submission_event_id=poison_id,
            submission_type=UNKNOWN,
            submission_key=submission_key,
            submission_source_system=UNKNOWN,
            code=POISON_RECORD,
            message=f"record {src.where} cannot be decoded ({exc.reason}); its bytes are on "
            f"{dlq(src.topic)}"[:2000],
        )
        value = self.codec.encode(REJECTIONS, rejection)
        await self._send(src, REJECTIONS, src.key, value)

    async def _put(self, src: Source, table: Table, key: bytes, value: bytes) -> None:
        # Not ``table[key] = value``: faust buffers that changelog record and sends it later,
        # outside the transaction that commits this offset. Written here, it is in it.
        store: Any = table.data
        store[key] = value
        partitions = getattr(store, "_key_partition", None)  # faust's memory store bookkeeping
        if partitions is not None:
            partitions[key] = src.partition
        changelog = table.changelog_topic.get_topic_name()
        await self.app.producer.send(
            changelog,
            key,
            value,
            src.partition,
            None,
            None,
            transactional_id=src.transactional_id,
        )

    async def _send(
        self,
        src: Source,
        logical: str,
        key: bytes | None,
        value: bytes,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        # Partition None: the producer's murmur2 partitioner puts the key where every
        # Fengqiao client does (events/partitioning.py).
        await self.app.producer.send(
            self.settings.topic(logical),
            key,
            value,
            None,
            None,
            headers,
            transactional_id=src.transactional_id,
        )


def _rejection_envelope(cause: Envelope) -> Envelope:
    """Deterministic: the same submission is always refused under the same event id."""
    return derived_envelope(cause, "rejected", 1).model_copy(update={"sequence": None})
