"""What became of a submission: the workflow's one outcome of each submission record.

The workflow answers every record of the inboxes with one ``SubmissionOutcome`` on
``fq.outcomes``, keyed by the submitting system (``submission_source_system``): accepted with
its canonical sequence, rejected with a code and message, or a duplicate of an event id answered
before, with that first answer. So a system reads all of its own outcomes, in order, from one
partition: the one Kafka's partitioner gives its name. An ``OutcomeWatcher`` marks where those
partitions end *before* the submissions are published, then reads on from there until each
record it is asked about (inbox topic, partition and offset, as the publisher's receipts give
them) has its outcome.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Self

from confluent_kafka import TopicPartition

from events.codec import AvroCodec
from events.errors import DecodeError, InfrastructureError
from events.kafka_io import reader, where
from events.models import OutcomeStatus, SubmissionOutcome
from events.partitioning import partition_for
from events.topics import OUTCOMES

__all__ = ["Outcome", "OutcomeTimeout", "OutcomeWatcher", "Record"]

Record = tuple[str, int, int]
"""An inbox record: topic, partition, offset."""


@dataclass(frozen=True)
class Outcome:
    """The workflow's answer to one submission.

    ``accepted``: the submission's event is on its canonical log (accepted now, or a duplicate
    of one accepted before), at ``sequence``, the first of ``events`` canonical events; else it
    was refused with ``code`` and ``message``. ``status`` says which of the three answers it
    was; ``duplicate`` that the event id had been answered before.
    """

    event_id: str
    accepted: bool
    sequence: int | None = None  # the case (stream) sequence, when accepted
    code: str | None = None  # the rejection code, when rejected
    message: str | None = None
    status: OutcomeStatus = OutcomeStatus.ACCEPTED
    events: int = 0

    @property
    def duplicate(self) -> bool:
        return self.status is OutcomeStatus.DUPLICATE

    @classmethod
    def of(cls, answer: SubmissionOutcome) -> Outcome:
        first = answer.first_status or answer.status
        return cls(
            event_id=answer.submission_event_id,
            accepted=first is OutcomeStatus.ACCEPTED,
            sequence=answer.sequence,
            code=answer.code,
            message=answer.message,
            status=answer.status,
            events=answer.events,
        )


class OutcomeTimeout(InfrastructureError):
    """Some submissions had no outcome within the time allowed (is the workflow running?)."""

    def __init__(self, missing: list[str], timeout_s: float) -> None:
        self.missing = missing
        super().__init__(
            f"{len(missing)} submission(s) without an outcome after {timeout_s:g}s, e.g. "
            f"{missing[:3]}; is `fengqiao process` running?"
        )


class OutcomeWatcher:
    """Reads the outcomes of the submitting ``systems`` from their partitions of the outcomes
    topic. Create it (``start()``) before publishing; then ``wait(records)``."""

    def __init__(
        self,
        bootstrap: str,
        codec: AvroCodec,
        systems: Iterable[str],
        topic: str = OUTCOMES,
    ) -> None:
        self.codec = codec
        self.topic = topic
        self.systems = sorted(set(systems))
        self._consumer = reader(bootstrap, "outcomes")
        self._seen: dict[Record, Outcome] = {}

    def start(self, timeout_s: float = 10.0) -> Self:
        """Mark the current end of the systems' partitions: outcomes are read from there."""
        metadata = self._consumer.list_topics(self.topic, timeout=timeout_s).topics[self.topic]
        if metadata.error is not None:
            raise InfrastructureError(f"{self.topic} cannot be read: {metadata.error}")
        count = len(metadata.partitions)
        assignment = []
        for partition in sorted({partition_for(s, count) for s in self.systems}):
            tp = TopicPartition(self.topic, partition)
            _, high = self._consumer.get_watermark_offsets(tp, timeout=timeout_s)
            assignment.append(TopicPartition(self.topic, partition, high))
        self._consumer.assign(assignment)
        return self

    def wait(self, records: Mapping[Record, str], timeout_s: float = 60.0) -> dict[Record, Outcome]:
        """The outcome of each inbox record (each with the event id it holds); raises
        OutcomeTimeout, naming the event ids without one, if some have none in time."""
        wanted = set(records)
        deadline = time.monotonic() + timeout_s
        while wanted - self._seen.keys():
            if time.monotonic() > deadline:
                missing = sorted(wanted - self._seen.keys())
                raise OutcomeTimeout([records[r] for r in missing], timeout_s)
            for msg in self._consumer.consume(1000, 0.2):
                if msg.error() is not None:
                    continue
                try:
                    answer = self.codec.decode(msg.value() or b"", *where(msg))
                except DecodeError:
                    continue  # not ours to judge here
                if isinstance(answer, SubmissionOutcome):
                    record = (answer.inbox_topic, answer.inbox_partition, answer.inbox_offset)
                    self._seen.setdefault(record, Outcome.of(answer))
        return {record: self._seen[record] for record in wanted}

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
