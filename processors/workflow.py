"""The workflow's agents: decode a submission, ask the pure core, write what it answered.

One handler per inbox. Each takes the raw record consumed (bytes, never a faust record),
decodes it with our Avro codec, calls the pure ``decide`` of its stream and collects what it
writes: the canonical events or a ``SubmissionRejected``, and in every case the record's one
``SubmissionOutcome`` on the outcomes topic (keyed by the submitting system). A duplicate
event id writes its outcome only, with the first answer kept in the tables: the canonical log
holds each event once. The agent writes a batch of records at a time; all a record writes,
outputs and table changelog alike, goes to the transaction of its own input partition
(``transactions.Transactions``), so its outputs, its state change and its offset commit
together.

Bad input never stops an agent: an undecodable record goes to ``<inbox>.dlq`` with its reason,
a ``POISON_RECORD`` rejection and outcome; a submission whose key is not its stream key is
rejected (``WRONG_KEY``); a submission on which the pure rules raise is rejected
(``RULES_ERROR``).
Anything else (registry or broker failure, a bug) ends the process at once, before its
transaction commits, so the record is processed again by the next worker: see ``fatal``.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, cast

from domain.case_state import evolve
from domain.decisions import Accepted, Decision, Duplicate, Rejected
from domain.errors import RulesError
from domain.reference_rules import decide_reference
from domain.reference_view import ReferenceView
from domain.state_machine import decide
from domain.visit_rules import decide_visit
from events.codec import AvroCodec
from events.errors import DecodeError
from events.models import CaseEvent, Event, OutcomeStatus, SubmissionOutcome, VisitRecorded
from events.topics import (
    CASE_EVENTS,
    CASE_INBOX,
    OUTCOMES,
    REFERENCE_EVENTS,
    REFERENCE_INBOX,
    REJECTIONS,
    VISIT_EVENTS,
    VISIT_INBOX,
    dlq,
)
from processors.changelog import Table
from processors.outputs import Source, dead_letter, outcome, poison_outcome, rejection
from processors.reference_feed import ReferenceFeed
from processors.settings import WorkflowSettings
from processors.state_store import (
    Answer,
    CaseRecord,
    GridVisits,
    dumps,
    dumps_answer,
    dumps_grid,
    loads,
    loads_answer,
    loads_grid,
)

__all__ = ["RULES_ERROR", "WRONG_KEY", "Tables", "Workflow", "fatal"]

log = logging.getLogger("fengqiao.workflow")
Message = Any  # a consumed record: topic, partition, offset, key, value, timestamp

# Rejection codes of the I/O shell, beside the pure core's ``RejectionCode``.
WRONG_KEY = "WRONG_KEY"
RULES_ERROR = "RULES_ERROR"
FATAL_EXIT = 70  # EX_SOFTWARE
RECORD_CACHE = 20_000


def fatal(what: str, exc: BaseException) -> NoReturn:
    """End the worker now, without committing the open transactions.

    The tables already hold what the records of the open transactions did, so nothing may
    commit after an unexpected error. Exiting here leaves the transactions open; the broker
    aborts them when the next worker fences this one, and that worker decides their records
    again from the committed state (a `kill -9`, which the workflow is built to survive).
    """
    log.critical("%s: %s\n%s", what, exc, "".join(traceback.format_exception(exc)))
    logging.shutdown()
    sys.stderr.flush()
    os._exit(FATAL_EXIT)


@dataclass(frozen=True)
class Tables:
    """The workflow's tables: case records, visit streams by grid, the answers to visit
    submissions by event id, the refusals of reference submissions by event id."""

    def of_inbox(self, inbox: str) -> list[Table]:
        """The tables whose partitions go with the partitions of ``inbox`` (logical name)."""
        return {
            CASE_INBOX: [self.cases],
            VISIT_INBOX: [self.grids, self.visits],
            REFERENCE_INBOX: [self.reference_answers],
        }.get(inbox, [])

    cases: Table
    grids: Table
    visits: Table
    reference_answers: Table


class Workflow:
    """The handlers of the three inboxes."""

    def __init__(
        self,
        settings: WorkflowSettings,
        codec: AvroCodec,
        tables: Tables,
        feed: ReferenceFeed,
    ) -> None:
        self.settings = settings
        self.codec = codec
        self.tables = tables
        self.feed = feed
        self.counts: Counter[str] = Counter()
        self._writer_view: ReferenceView | None = None
        self._records: dict[bytes, tuple[bytes, CaseRecord]] = {}

    # --- the three inboxes -----------------------------------------------------------------
    # Each decides one record and applies its table changes at once (the next record of the
    # same case or grid must see them); what it writes is collected in the returned Source,
    # which the agent hands to ``writer.write`` with the rest of its batch. Every record
    # writes exactly one outcome (``_answered``).
    async def on_case(self, message: Message) -> Source:
        src, submission = await self._received(message, CASE_INBOX)
        if submission is not None:
            self._case(src, submission)
        return src

    async def on_visit(self, message: Message) -> Source:
        src, submission = await self._received(message, VISIT_INBOX)
        if submission is not None:
            self._visit(src, submission)
        return src

    async def on_reference(self, message: Message) -> Source:
        src, submission = await self._received(message, REFERENCE_INBOX)
        if submission is not None:
            if self._writer_view is None:
                # The single writer of the reference log decides against everything committed
                # (read after this worker's producer fenced any previous writer) plus its own
                # accepted events, which the feed only sees once their transaction commits.
                self._writer_view = await self.feed.caught_up()
            self._reference(src, submission, self._writer_view)
        return src

    def forget_reference_writer(self) -> None:
        """The reference inbox was revoked: catch up again before the next decision."""
        self._writer_view = None

    # --- deciding --------------------------------------------------------------------------
    def _case(self, src: Source, submission: Event) -> None:
        event_id = submission.envelope.event_id
        key = submission.key().encode() if isinstance(submission, CaseEvent) else None
        record = self._case_record(src.partition, key) if key is not None else None
        state = record.state if record else None
        first = record.answer_of(event_id) if record else None
        if first is not None and not first.accepted:  # sent again: its first answer
            self._duplicate(src, submission, first)
            return
        try:
            decision = decide(state, submission, self.feed.view)
            if isinstance(decision, Accepted):
                for canonical in decision.events:
                    state = evolve(state, cast(CaseEvent, canonical))
        except RulesError as exc:
            self._rules_failed(src, submission, exc)
            return
        if isinstance(decision, Accepted) and key is not None and state is not None:
            answer = self._append(src, CASE_EVENTS, key, submission, decision.events)
            base = record or CaseRecord(state=state, partition=src.partition)
            self._store_case(src, key, base.accepted(state, event_id, answer.events))
        elif isinstance(decision, Duplicate) and first is not None:
            self._duplicate(src, submission, first)
        elif isinstance(decision, Rejected) and record is not None and key is not None:
            code = str(decision.code)
            self._reject(src, submission, code, decision.message)
            self._store_case(src, key, record.refusing(event_id, code, decision.message))
        else:
            self._answer(src, submission, decision)

    def _visit(self, src: Source, submission: Event) -> None:
        event_id = submission.envelope.event_id.encode()
        seen_raw = self.tables.visits.get(src.partition, event_id)
        first = loads_answer(seen_raw) if seen_raw else None
        if first is not None and not first.accepted:
            self._duplicate(src, submission, first)
            return
        key = submission.key().encode()
        is_visit = isinstance(submission, VisitRecorded)
        grid_raw = self.tables.grids.get(src.partition, key) if is_visit else None
        grid = loads_grid(grid_raw) if grid_raw else GridVisits(src.partition, 0)
        try:
            decision = decide_visit(
                submission,
                self.feed.view,
                sequence=grid.sequence + 1,
                seen_sequence=first.sequence if first else None,
            )
        except RulesError as exc:
            self._rules_failed(src, submission, exc)
            return
        if isinstance(decision, Accepted):
            answer = self._append(src, VISIT_EVENTS, key, submission, decision.events)
            src.put(self.tables.visits, event_id, dumps_answer(answer))
            grid = GridVisits(grid.partition, grid.sequence + answer.events)
            src.put(self.tables.grids, key, dumps_grid(grid))
        elif isinstance(decision, Duplicate) and first is not None:
            self._duplicate(src, submission, first)
        elif isinstance(decision, Rejected):
            code = str(decision.code)
            self._reject(src, submission, code, decision.message)
            answer = Answer(code=code, message=decision.message)
            src.put(self.tables.visits, event_id, dumps_answer(answer))
        else:
            self._answer(src, submission, decision)

    def _reference(self, src: Source, submission: Event, view: ReferenceView) -> None:
        event_id = submission.envelope.event_id.encode()
        refused_raw = self.tables.reference_answers.get(src.partition, event_id)
        if refused_raw is not None:
            self._duplicate(src, submission, loads_answer(refused_raw))
            return
        try:
            decision = decide_reference(view, submission)
        except RulesError as exc:
            self._rules_failed(src, submission, exc)
            return
        key = submission.key().encode()
        if isinstance(decision, Accepted):
            self._append(src, REFERENCE_EVENTS, key, submission, decision.events)
            self._writer_view = view.apply_all(decision.events)
        elif isinstance(decision, Duplicate):
            # Each accepted reference submission is one event on the log.
            self._duplicate(src, submission, Answer(decision.sequence, 1))
        elif isinstance(decision, Rejected):
            code = str(decision.code)
            self._reject(src, submission, code, decision.message)
            answer = Answer(code=code, message=decision.message)
            src.put(self.tables.reference_answers, event_id, dumps_answer(answer))
        else:
            self._answer(src, submission, decision)

    # --- the pieces ------------------------------------------------------------------------
    async def _received(self, message: Message, inbox: str) -> tuple[Source, Event | None]:
        """The record and its submission, once the reference view is ready; no submission
        when the record has been answered already (poison, wrong key)."""
        src = Source.of(message, inbox)
        try:
            submission = self.codec.decode(src.value, src.inbox, src.partition, src.offset)
        except DecodeError as exc:
            self._poison(src, exc)
            return src, None
        if src.key != submission.key().encode():
            shown = src.key.decode(errors="replace") if src.key is not None else "no key"
            self._reject(
                src,
                submission,
                WRONG_KEY,
                f"{submission.event_type} {submission.envelope.event_id} was sent with key "
                f"{shown!r}; its stream key ({submission.key_field}) is {submission.key()!r}. "
                "Publish it keyed by that (the SDK does), so all of its stream stays in order.",
            )
            return src, None
        await self.feed.ready()
        return src, submission

    def _case_record(self, partition: int, key: bytes) -> CaseRecord | None:
        raw = self.tables.cases.get(partition, key)
        if raw is None:
            return None
        cached = self._records.pop(key, None)
        record = cached[1] if cached is not None and cached[0] is raw else loads(raw)
        self._remember(key, raw, record)
        return record

    def _store_case(self, src: Source, key: bytes, record: CaseRecord) -> None:
        """Write the case's new record with ``src``'s outputs, and keep it decoded."""
        value = dumps(record)
        src.put(self.tables.cases, key, value)
        self._remember(key, value, record)

    def _remember(self, key: bytes, raw: bytes, record: CaseRecord) -> None:
        # Decoded records of recently active cases, valid while the table holds the very
        # bytes they were decoded from (a recovery or rebalance replaces those).
        self._records.pop(key, None)
        self._records[key] = (raw, record)
        if len(self._records) > RECORD_CACHE:
            del self._records[next(iter(self._records))]

    def _append(
        self, src: Source, logical: str, key: bytes, submission: Event, events: Sequence[Event]
    ) -> Answer:
        """Append the accepted ``events`` to their canonical log and answer ``submission``."""
        topic = self.settings.topic(logical)
        for canonical in events:
            src.send(topic, key, self.codec.encode(logical, canonical))
        answer = Answer(events[0].envelope.sequence, len(events))
        self.counts["accepted"] += 1
        self.counts["canonical"] += len(events)
        self._answered(src, submission, OutcomeStatus.ACCEPTED, answer)
        return answer

    def _duplicate(self, src: Source, submission: Event, first: Answer) -> None:
        """Answer a submission whose event id was answered before: its first answer, as a
        DUPLICATE; nothing is appended to the canonical log again."""
        self.counts["duplicates"] += 1
        self._answered(src, submission, OutcomeStatus.DUPLICATE, first)

    def _answered(
        self, src: Source, submission: Event, status: OutcomeStatus, answer: Answer
    ) -> None:
        """Write the record's one outcome, keyed by its submitting system."""
        answered = outcome(src, submission, status, answer)
        self._send_outcome(src, answered)

    def _send_outcome(self, src: Source, answered: SubmissionOutcome) -> None:
        value = self.codec.encode(OUTCOMES, answered)
        src.send(self.settings.topic(OUTCOMES), answered.key().encode(), value)

    def _answer(self, src: Source, submission: Event, decision: Decision) -> None:
        if isinstance(decision, Rejected):
            self._reject(src, submission, str(decision.code), decision.message)
        else:  # a Duplicate without a stored record: the pure core and the table disagree
            fatal(f"{decision!r} for {submission.envelope.event_id} at {src.where}", RuntimeError())

    def _rules_failed(self, src: Source, submission: Event, exc: RulesError) -> None:
        log.error("the rules failed on %s at %s: %s", submission.envelope.event_id, src.where, exc)
        self._reject(src, submission, RULES_ERROR, f"{type(exc).__name__}: {exc}")

    def _reject(self, src: Source, submission: Event, code: str, message: str) -> None:
        """Send the rejection of ``submission`` and its outcome."""
        refused = rejection(submission, code, message)
        value = self.codec.encode(REJECTIONS, refused)
        src.send(self.settings.topic(REJECTIONS), refused.key().encode(), value)
        self.counts["rejected"] += 1
        self.counts[f"rejected.{code}"] += 1
        answer = Answer(code=code, message=refused.message)
        self._answered(src, submission, OutcomeStatus.REJECTED, answer)

    def _poison(self, src: Source, exc: DecodeError) -> None:
        self.counts["poison"] += 1
        log.warning("poison record at %s sent to %s: %s", src.where, dlq(src.inbox), exc.reason)
        headers, refused = dead_letter(src, exc)
        src.send(self.settings.topic(dlq(src.inbox)), src.key, src.value, headers)
        self._send_outcome(src, poison_outcome(src, exc))
        if refused is None:
            log.warning("poison record at %s has no usable key: no rejection sent", src.where)
            return
        value = self.codec.encode(REJECTIONS, refused)
        src.send(self.settings.topic(REJECTIONS), src.key, value)
