"""What an input record writes: everything it causes, collected in its ``Source``.

A handler collects all a record causes in its ``Source`` (canonical events, rejections, its
outcome, dead letters, table changelog records) and applies the record's table updates at once, so the next
record of the same case or grid is decided against them. The agent then appends a batch's
sources to the transaction of their input partition (``transactions.Transactions.write``),
which commits them with the offset after the last of them: a record's outputs, its state
change and its offset become visible together or not at all.

A keyed record goes to the partition Kafka's murmur2 gives its key (the producer's
``murmur2_random`` partitioner, as every Fengqiao client); a changelog record to the record's
own partition; a keyless dead letter to the partition of the same number as its input's
(a ``.dlq`` is partitioned as its topic).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from domain.copies import model_with
from domain.decisions import (
    DERIVED_ACTOR,
    DERIVED_SOURCE_SYSTEM,
    derived_envelope,
    derived_id,
)
from events.dead_letters import dead_letter_headers
from events.errors import DecodeError
from events.models import Envelope, Event, OutcomeStatus, SubmissionOutcome, SubmissionRejected
from events.topics import INBOX, dlq
from processors.changelog import Table
from processors.state_store import Answer

__all__ = [
    "POISON_RECORD",
    "UNKNOWN",
    "Outgoing",
    "Source",
    "dead_letter",
    "outcome",
    "poison_outcome",
    "rejection",
]

POISON_RECORD = "POISON_RECORD"
UNKNOWN = "unknown"
Headers = list[tuple[str, bytes]]
_STREAM_OF_INBOX = {topic: stream for stream, topic in INBOX.items()}
Outgoing = tuple[str, bytes | None, bytes, int | None, Headers | None]
"""topic, key, value, partition (``None``: the key's), headers"""


@dataclass
class Source:
    """The record being processed and what it will write."""

    inbox: str  # logical name (events.topics)
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp: float
    outgoing: list[Outgoing] = field(default_factory=list)

    @classmethod
    def of(cls, message: Any, inbox: str) -> Source:
        """The source of a consumed ``message`` (topic, partition, offset, key, value and
        timestamp, as faust's and confluent-kafka's messages have them) from ``inbox``."""
        return cls(
            inbox=inbox,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value or b"",
            timestamp=message.timestamp,
        )

    @property
    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers | None = None
    ) -> None:
        """Write a record to ``topic``: a keyed one in the partition Kafka's murmur2 gives its
        key, a keyless one in the partition of this record's number."""
        self.outgoing.append((topic, key, value, None if key is not None else self.partition,
                              headers))  # fmt: skip

    def put(self, table: Table, key: bytes, value: bytes) -> None:
        """Set a table key now; its changelog record goes to this record's partition."""
        table.put(self.partition, key, value)
        self.outgoing.append((table.topic, key, value, self.partition, None))


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
    key = _record_key(src)
    if key is None:
        return headers, None
    cause = _poison_cause(src)
    refused = SubmissionRejected(
        envelope=_rejection_envelope(cause),
        submission_event_id=cause.event_id,
        submission_type=UNKNOWN,
        submission_key=key,
        submission_source_system=UNKNOWN,
        code=POISON_RECORD,
        message=_poison_message(src, exc),
    )
    return headers, refused


def outcome(
    src: Source, submission: Event, status: OutcomeStatus, answer: Answer
) -> SubmissionOutcome:
    """The one outcome of the record ``src``, which held ``submission``: ``status``, with
    ``answer`` (for a DUPLICATE, the first answer to its event id)."""
    env = submission.envelope
    return _outcome(src, env, submission.event_type, submission.key(), status, answer)


def poison_outcome(src: Source, exc: DecodeError) -> SubmissionOutcome:
    """The outcome of a record that cannot be decoded: refused as POISON_RECORD, for the
    system ``unknown`` (nothing in the record can be trusted to name it)."""
    answer = Answer(code=POISON_RECORD, message=_poison_message(src, exc))
    key = _record_key(src) or UNKNOWN
    return _outcome(src, _poison_cause(src), UNKNOWN, key, OutcomeStatus.REJECTED, answer)


def _outcome(
    src: Source, env: Envelope, kind: str, key: str, status: OutcomeStatus, answer: Answer
) -> SubmissionOutcome:
    # The record answered is part of the id: each record gets its own outcome, and a record
    # decided again after a crash gets the same one.
    first = None
    if status is OutcomeStatus.DUPLICATE:
        first = OutcomeStatus.ACCEPTED if answer.accepted else OutcomeStatus.REJECTED
    # Built as a copy of a valid outcome with every field changed, without validation, which
    # cost 20-40 µs a record (``model_construct`` still 15: a tenth of what a worker spends on
    # a submission): every field is taken from a validated submission (or the record's
    # checked key), the rules' codes and messages, or the record's position; the unit tests
    # validate what this builds.
    envelope = model_with(
        env,
        event_id=derived_id(env.event_id, f"outcome/{src.topic}/{src.partition}/{src.offset}"),
        source_system=DERIVED_SOURCE_SYSTEM,
        actor=DERIVED_ACTOR,
        correlation_id=env.correlation_id or env.event_id,
        causation_id=env.event_id,
        sequence=None,
    )
    return model_with(
        _OUTCOME,
        envelope=envelope,
        submission_event_id=env.event_id,
        submission_type=kind,
        submission_key=key,
        submission_source_system=env.source_system,
        submission_stream=_STREAM_OF_INBOX.get(src.inbox, UNKNOWN),
        status=status,
        first_status=first,
        sequence=answer.sequence,
        events=answer.events,
        code=answer.code,
        message=None if answer.message is None else answer.message[:2000],
        inbox_topic=src.topic,
        inbox_partition=src.partition,
        inbox_offset=src.offset,
    )


_NEVER = datetime(2000, 1, 1, tzinfo=UTC)
_OUTCOME = SubmissionOutcome(
    envelope=Envelope(
        event_id="-",
        event_time=_NEVER,
        recorded_time=_NEVER,
        source_system="-",
        actor=DERIVED_ACTOR,
    ),
    submission_event_id="-",
    submission_type="-",
    submission_key="-",
    submission_source_system="-",
    submission_stream="-",
    status=OutcomeStatus.ACCEPTED,
    inbox_topic="-",
    inbox_partition=0,
    inbox_offset=0,
)
"""What ``_outcome`` copies, every field replaced."""


def _record_key(src: Source) -> str | None:
    """The record's key as text, when it can stand for a stream key (1 to 64 characters)."""
    key = src.key.decode(errors="replace") if src.key else ""
    return key if 1 <= len(key) <= 64 else None


def _poison_cause(src: Source) -> Envelope:
    """The envelope a poison record is answered for: an id naming the record, its time."""
    at = datetime.fromtimestamp(src.timestamp, UTC)
    return Envelope(
        event_id=f"poison/{src.inbox}/{src.partition}/{src.offset}",
        event_time=at,
        recorded_time=at,
        source_system=UNKNOWN,
        actor=DERIVED_ACTOR,
    )


def _poison_message(src: Source, exc: DecodeError) -> str:
    return (
        f"record {src.where} cannot be decoded ({exc.reason}); its bytes are on {dlq(src.topic)}"[
            :2000
        ]
    )


def _rejection_envelope(cause: Envelope) -> Envelope:
    return derived_envelope(cause, "rejected", 1).model_copy(update={"sequence": None})
