"""What became of a submission: accepted into the canonical log, or rejected with a reason.

The workflow writes every accepted submission to its stream's canonical topic under the
submission's own event id, and every refusal to ``fq.rejections`` with
``submission_event_id``. An ``OutcomeWatcher`` marks where those topics end *before* the
submissions are published, then reads from there until each event id has its outcome.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

from confluent_kafka import TopicPartition

from events.codec import AvroCodec
from events.errors import DecodeError, InfrastructureError
from events.kafka_io import reader, where
from events.models import SubmissionRejected
from events.topics import CANONICAL, REJECTIONS


@dataclass(frozen=True)
class Outcome:
    """The workflow's answer to one submission."""

    event_id: str
    accepted: bool
    sequence: int | None = None  # the case (stream) sequence, when accepted
    code: str | None = None  # the rejection code, when rejected
    message: str | None = None


class OutcomeTimeout(InfrastructureError):
    """Some submissions had no outcome within the time allowed (is the workflow running?)."""

    def __init__(self, missing: list[str], timeout_s: float) -> None:
        self.missing = missing
        super().__init__(
            f"{len(missing)} submission(s) without an outcome after {timeout_s:g}s, e.g. "
            f"{missing[:3]}; is `fengqiao process` running?"
        )


class OutcomeWatcher:
    """Watches the canonical topics and the rejections for the outcome of submissions.

    Create it (``start()``) before publishing; then ``wait(event_ids)``.
    """

    def __init__(
        self, bootstrap: str, codec: AvroCodec, topics: Iterable[str] | None = None
    ) -> None:
        self.codec = codec
        self.topics = list(topics or [*CANONICAL.values(), REJECTIONS])
        self._consumer = reader(bootstrap, "outcomes")
        self._seen: dict[str, Outcome] = {}

    def start(self, timeout_s: float = 10.0) -> Self:
        """Mark the current end of every watched partition: outcomes are read from there."""
        assignment = []
        for topic in self.topics:
            metadata = self._consumer.list_topics(topic, timeout=timeout_s).topics[topic]
            for partition in metadata.partitions:
                _, high = self._consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=timeout_s
                )
                assignment.append(TopicPartition(topic, partition, high))
        self._consumer.assign(assignment)
        return self

    def wait(self, event_ids: Iterable[str], timeout_s: float = 60.0) -> dict[str, Outcome]:
        """The outcome of each event id; raises OutcomeTimeout if some have none in time."""
        wanted = set(event_ids)
        deadline = time.monotonic() + timeout_s
        while wanted - self._seen.keys():
            if time.monotonic() > deadline:
                raise OutcomeTimeout(sorted(wanted - self._seen.keys()), timeout_s)
            msg = self._consumer.poll(0.2)
            if msg is None or msg.error() is not None:
                continue
            try:
                event = self.codec.decode(msg.value() or b"", *where(msg))
            except DecodeError:
                continue  # not ours to judge here; the workflow dead-letters poison records
            if isinstance(event, SubmissionRejected):
                outcome = Outcome(
                    event.submission_event_id, False, code=event.code, message=event.message
                )
            else:
                outcome = Outcome(event.envelope.event_id, True, sequence=event.envelope.sequence)
            self._seen.setdefault(outcome.event_id, outcome)
        return {event_id: self._seen[event_id] for event_id in wanted}

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
