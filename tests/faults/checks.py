"""The suite's checks over the whole log, once the faults are over and the load is drained.

- nothing lost: every acknowledged submission has an outcome on ``fq.outcomes``;
- exactly one outcome per inbox record, and the group's offsets at the inboxes' ends;
- nothing decided twice: no event id twice on the canonical logs, no refusal twice (a refusal
  ``UNKNOWN_CASE`` excepted: it has no case to be kept in and is decided again when sent
  again, by design); a submission answered more than once is answered ``DUPLICATE`` after
  its first answer, with that answer (status, sequence, code);
- the live read models equal, table by table, a clean replay of the same log into a new schema.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg
from confluent_kafka import Consumer, KafkaError, TopicPartition

from events.codec import AvroCodec
from events.kafka_access import kafka_config
from events.models import Event, OutcomeStatus, SubmissionOutcome, SubmissionRejected
from events.topics import CASE_EVENTS, OUTCOMES, REFERENCE_EVENTS, REJECTIONS, VISIT_EVENTS
from projections.log_ends import end_offsets
from projections.replay import replay
from projections.settings import ProjectorSettings
from projections.store import connect, load_checkpoints
from projections.versions import active_schema, new_replay_schema
from tests.faults.progress import WORKFLOW_GROUP, inbox_partitions
from tests.integration.projection_helpers import checksums

CANONICAL = (CASE_EVENTS, VISIT_EVENTS, REFERENCE_EVENTS)
DECIDED_AGAIN_BY_DESIGN = "UNKNOWN_CASE"


@dataclass
class Verdict:
    """What the checks found; ``failures`` empty when every check held."""

    inbox_records: int = 0
    outcomes: int = 0
    canonical_events: int = 0
    rejections: int = 0
    duplicates_answered: int = 0
    lost: list[str] = field(default_factory=list)
    decided_twice: list[str] = field(default_factory=list)
    unknown_case_again: int = 0
    failures: list[str] = field(default_factory=list)


def read_committed(
    bootstrap: str, codec: AvroCodec, topics: Iterable[str]
) -> list[tuple[str, int, int, Event]]:
    """Every committed record of ``topics`` up to each partition's end now, decoded."""
    consumer = Consumer(
        kafka_config(
            bootstrap,
            **{
                "group.id": f"fq-faults-read-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
                "log_level": 2,
            },
        )
    )
    out: list[tuple[str, int, int, Event]] = []
    try:
        metadata = consumer.list_topics(timeout=10)
        tps = [TopicPartition(t, p, 0) for t in topics for p in metadata.topics[t].partitions]
        consumer.assign(tps)
        left = {(tp.topic, tp.partition) for tp in tps}
        deadline = time.monotonic() + 180
        while left:
            assert time.monotonic() < deadline, f"{sorted(left)} not read to their end"
            for msg in consumer.consume(10_000, 0.5):
                error = msg.error()
                topic, partition = msg.topic() or "", msg.partition() or 0
                if error is not None:
                    assert error.code() == KafkaError._PARTITION_EOF, str(error)
                    left.discard((topic, partition))
                    continue
                event = codec.decode(msg.value() or b"", topic, partition, msg.offset() or 0)
                out.append((topic, partition, msg.offset() or 0, event))
    finally:
        consumer.close()
    return out


def wait_until_decided(
    bootstrap: str, timeout_s: float
) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
    """The workflow group's committed offsets and the inboxes' ends, once they meet (or at
    ``timeout_s``, for the check to report the difference)."""
    consumer = Consumer(
        kafka_config(bootstrap, **{"group.id": WORKFLOW_GROUP, "enable.auto.commit": False})
    )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            found = consumer.committed(inbox_partitions(), timeout=10)
            committed = {(tp.topic, tp.partition): max(tp.offset, 0) for tp in found}
            ends = {
                (tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10)[1]
                for tp in found
            }
            if committed == ends or time.monotonic() > deadline:
                return committed, ends
            time.sleep(0.5)
    finally:
        consumer.close()


def judge(records: list[tuple[str, int, int, Event]], acked: set[str], inbox_ends: int) -> Verdict:
    """Apply the log checks to everything read back."""
    verdict = Verdict(inbox_records=inbox_ends)
    seen: Counter[str] = Counter()
    answers: dict[str, list[SubmissionOutcome]] = defaultdict(list)
    per_record: Counter[tuple[str, int, int]] = Counter()
    for topic, _, _, event in records:
        if isinstance(event, SubmissionOutcome):
            answers[event.submission_event_id].append(event)
            per_record[(event.inbox_topic, event.inbox_partition, event.inbox_offset)] += 1
        elif isinstance(event, SubmissionRejected):
            verdict.rejections += 1
            if event.code == DECIDED_AGAIN_BY_DESIGN:
                continue
            seen[f"rejected:{event.submission_event_id}"] += 1
        else:
            verdict.canonical_events += 1
            seen[f"{topic}:{event.envelope.event_id}"] += 1
    verdict.outcomes = sum(per_record.values())
    verdict.decided_twice = sorted(k for k, n in seen.items() if n > 1)
    verdict.lost = sorted(acked - set(answers))
    for event_id, given in answers.items():
        first, *later = given
        verdict.duplicates_answered += len(later)
        for again in later:
            if first.status is OutcomeStatus.REJECTED and first.code == DECIDED_AGAIN_BY_DESIGN:
                verdict.unknown_case_again += 1
                continue
            if (again.status, again.first_status, again.sequence, again.code) != (
                OutcomeStatus.DUPLICATE, first.status, first.sequence, first.code
            ):  # fmt: skip
                verdict.decided_twice.append(f"answered again otherwise: {event_id}")
    if verdict.lost:
        verdict.failures.append(
            f"{len(verdict.lost)} acknowledged without an outcome, e.g. {verdict.lost[:5]}"
        )
    if verdict.decided_twice:
        verdict.failures.append(
            f"{len(verdict.decided_twice)} decided twice, e.g. {verdict.decided_twice[:5]}"
        )
    if set(per_record.values()) - {1}:
        many = [k for k, n in per_record.items() if n != 1][:5]
        verdict.failures.append(f"inbox records with more than one outcome, e.g. {many}")
    if verdict.outcomes != inbox_ends:
        verdict.failures.append(f"{verdict.outcomes} outcomes for {inbox_ends} inbox records")
    return verdict


def read_everything(bootstrap: str, codec: AvroCodec) -> list[tuple[str, int, int, Event]]:
    return read_committed(bootstrap, codec, [*CANONICAL, REJECTIONS, OUTCOMES])


def wait_until_projected(settings: ProjectorSettings, timeout_s: float) -> dict[str, int]:
    """Until the live projection's checkpoints reach the projected logs' ends; the partitions
    still behind (empty when it caught up)."""
    ends = end_offsets(settings)
    deadline = time.monotonic() + timeout_s
    while True:
        with connect(settings.pg_dsn.get_secret_value()) as conn:
            schema = active_schema(conn, settings.projection)
            assert schema is not None, "no live projection"
            conn.execute(f'SET search_path TO "{schema}"')
            done = {key: pos.next_offset for key, pos in load_checkpoints(conn).items()}
        behind = {
            f"{t}[{p}]": end - done.get((t, p), 0)
            for (t, p), end in ends.items()
            if done.get((t, p), 0) < end
        }
        if not behind or time.monotonic() > deadline:
            return behind
        time.sleep(0.5)


def replay_differs(
    settings: ProjectorSettings,
) -> dict[str, tuple[tuple[int, str], tuple[int, str]]]:
    """Replay the whole log into a new schema; the tables whose (rows, md5) differ from the
    live projection's, with both (empty when they are equal)."""
    dsn = settings.pg_dsn.get_secret_value()
    with connect(dsn) as conn:
        live = active_schema(conn, settings.projection)
        assert live is not None
        fresh = new_replay_schema(conn, settings.projection, None)
        conn.commit()
    replay(settings, fresh)
    with psycopg.connect(dsn) as conn:
        a, b = checksums(conn, live), checksums(conn, fresh)
    return {t: (a[t], b[t]) for t in a if a[t] != b.get(t)}
