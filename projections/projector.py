"""The projector loop: canonical logs → pure folds → PostgreSQL, one transaction per batch.

Positions live in the projection schema's ``checkpoints`` table, written with the rows, so
the consumer is assigned its partitions from there (no consumer-group offsets at all): a
crash anywhere resumes at the last committed batch, losing and double-counting nothing.

The reference log (one partition) is read from its start by every projector and folded into
the reference view; before each batch it is read up to its end (``ReferenceTail``), so every
case or visit event finds the definitions the workflow checked it against.

``run`` writes on a thread of its own (``BatchWriter``): PostgreSQL commits batch n while
batch n + 1 is decoded and folded, never further ahead. Anything that reads the schema back
(cases to reload, a promotion to follow) first waits for the batch in flight.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from domain.reference_view import Place
from events.codec import AvroCodec
from events.dead_letters import DeadLetterSender
from events.errors import BrokerUnavailable, DecodeError
from events.kafka_io import reader, where
from events.models import (
    DepartmentDefined,
    PlaceDefined,
    PlaceRetired,
    WorkerAssigned,
)
from events.topics import REFERENCE_EVENTS
from projections.batch import Changes, DeadLetter, Decoded, Position, ProjectionState, fold_batch
from projections.batch_writer import BatchWriter
from projections.gc_by_hand import collecting_by_hand
from projections.log_ends import partitions_of, source_topics
from projections.reference_tail import ReferenceTail
from projections.schema_claim import SchemaClaim, resume
from projections.settings import ProjectorSettings
from projections.store import (
    connect,
    load_cases,
    use_schema,
    write_batch,
)
from projections.unit_shapes import with_shapes
from projections.units import Units, build_units

__all__ = ["BatchReport", "Projector"]

log = logging.getLogger("fengqiao.projector")
_CHUNK = 5000  # records consumed and folded at a time within a batch
_UNIT_SOURCES = (PlaceDefined, PlaceRetired, WorkerAssigned, DepartmentDefined)  # what units show


@dataclass
class BatchReport:
    """What one committed batch did, for progress bars and logs."""

    records: int
    applied: int
    duplicates: int
    dead_letters: int
    positions: dict[tuple[str, int], Position] = field(default_factory=dict)


@dataclass(frozen=True)
class _Batch:
    """A folded batch on its way to PostgreSQL."""

    changes: Changes
    places: Sequence[Place]
    units: Units | None  # the units rebuilt, when the reference data changed
    report: BatchReport


class Projector:
    """Projects the canonical case and visit logs, and the refused submissions, into one
    projection schema.

    Args:
        settings: connections, topic prefix, batch size.
        schema: the PostgreSQL schema to write (created beforehand).
        codec: the Avro codec (its registry client resolves writer schemas).
        until: skip events recorded after this instant (an as-of replay).
        stop_at: stop once every partition reaches these offsets (a replay's end).
        on_batch: called after each batch has committed, in order, on the calling thread.
        follow: a projection name: when ``fengqiao projections promote`` makes another of
            its schemas active, carry on in that one from the positions it holds.
        share: ``(i, n)``: project only partitions ``p`` with ``p % n == i``, so that n
            processes can rebuild one schema side by side (a case, and a grid's visits, live in
            one partition; counters only add up). Worker 0 also writes the places and units.
    """

    def __init__(
        self,
        settings: ProjectorSettings,
        schema: str,
        codec: AvroCodec,
        until: datetime | None = None,
        stop_at: dict[tuple[str, int], int] | None = None,
        on_batch: Callable[[BatchReport], None] | None = None,
        follow: str | None = None,
        share: tuple[int, int] = (0, 1),
    ) -> None:
        self.settings = settings
        self.schema = schema
        self.codec = codec
        self.until = until
        self.stop_at = stop_at
        self.on_batch = on_batch
        self.follow = follow
        self.share = share
        self._next_follow_check = 0.0
        self.streams = {topic: stream for stream, topic in source_topics(settings).items()}
        self.state = ProjectionState()
        self.positions: dict[tuple[str, int], Position] = {}
        self._fresh = False  # the schema held no case when we started: unknown = new
        self._stopping = False
        self._consumer: Consumer | None = None
        self._reference: ReferenceTail | None = None
        self._dead_letters = DeadLetterSender(settings.kafka_bootstrap, reader="projector")
        self._pending_places: list[Place] = []
        self._pending_units: Units | None = None
        self._conn = connect(settings.pg_dsn.get_secret_value())
        use_schema(self._conn, schema)
        self._claim = SchemaClaim(self._conn, share)
        self._writer: BatchWriter[_Batch] = BatchWriter(self._write)

    # --- lifecycle -------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to end after the batch in hand (from a signal handler)."""
        self._stopping = True

    def run(self) -> None:
        """Project until ``stop()`` or, for a replay, until ``stop_at`` is reached; every
        batch folded has committed when it returns.

        Raises:
            ProjectionStoreError: a batch could not be written (nothing of it was); the
                projector stops there, and a restart resumes from the batch before.
        """
        try:
            with collecting_by_hand() as batch_done:
                self._start()
                while not self._stopping and not self._done():
                    batch = self._fold_next()
                    self._hand_over(batch)
                    batch_done(batch.report.records)
                    if self.follow is not None and time.monotonic() >= self._next_follow_check:
                        self._follow_promotion()
                self._hand_over_reference()
                self._settle()
        finally:
            self.close()

    def close(self) -> None:
        failure = self._writer.close()
        if failure is not None:
            log.error("projector: the last batch did not commit: %s", failure)
        if self._consumer is not None:
            self._consumer.close()
        if self._reference is not None:
            self._reference.close()
        self._consumer = self._reference = None
        self._dead_letters.close()
        self._conn.close()

    def _load_schema_state(self) -> None:
        """Carry on from what the claimed schema holds (``schema_claim.resume``)."""
        resumed = resume(self._conn)
        self.positions = resumed.positions
        self.state.visit_sequences = resumed.visit_sequences
        self.state.cases.clear()
        self.state.deadlines.clear()
        self._fresh = resumed.fresh

    def _follow_promotion(self) -> None:
        """Move to the schema ``fengqiao projections promote`` made active, if it is another."""
        assert self.follow is not None and self._consumer is not None
        self._next_follow_check = time.monotonic() + 5.0
        self._settle()
        promoted = self._claim.follow(self.follow, self.schema)
        if promoted is None:
            return
        log.warning("projector: %s was promoted; continuing there (was %s)", promoted, self.schema)
        self.schema = promoted
        self._load_schema_state()
        self._consumer.assign(self._assignment())

    def _start(self) -> None:
        bootstrap = self.settings.kafka_bootstrap
        self._claim.take(self.schema)
        self._load_schema_state()
        self._consumer = reader(
            bootstrap,
            f"projector-{self.schema}",
            **{"enable.partition.eof": True, "fetch.max.bytes": 52428800, "fetch.wait.max.ms": 50},
        )
        self._consumer.assign(self._assignment())
        self._reference = ReferenceTail(
            bootstrap,
            self.settings.topic(REFERENCE_EVENTS),
            self.codec,
            f"projector-reference-{self.schema}",
        )
        self._pending_places = self._read_reference()

    def _assignment(self) -> list[TopicPartition]:
        assert self._consumer is not None
        out = []
        for topic in self.streams:
            try:
                parts = partitions_of(self._consumer, topic)
            except KafkaException as exc:
                raise BrokerUnavailable(f"cannot list topic {topic}: {exc}") from exc
            if not parts:
                raise BrokerUnavailable(f"topic {topic} does not exist: run `fengqiao stack up`")
            for p in parts:
                if not self._mine(p):
                    continue
                pos = self.positions.get((topic, p))
                out.append(TopicPartition(topic, p, pos.next_offset if pos else 0))
                self.positions.setdefault((topic, p), Position(pos.next_offset if pos else 0))
        return out

    def _mine(self, partition: int) -> bool:
        index, count = self.share
        return partition % count == index

    def _done(self) -> bool:
        if self.stop_at is None:
            return False
        return all(
            self.positions[tp].next_offset >= end
            for tp, end in self.stop_at.items()
            if self._mine(tp[1])
        )

    # --- one batch -------------------------------------------------------------------------
    def step(self) -> BatchReport:
        """Consume, fold and commit one batch (possibly empty), waiting for the commit."""
        batch = self._fold_next()
        self._hand_over(batch)
        self._settle()
        return batch.report

    def _hand_over(self, batch: _Batch) -> None:
        """Start writing ``batch`` once the one before has committed; report what did."""
        if batch.changes.positions or batch.places or batch.units is not None:
            self._reported(self._writer.submit(batch))
        else:
            self._settle()
            self._reported([batch])

    def _hand_over_reference(self) -> None:
        """Write the places and units read at the start when no batch took them (a replay
        or a restart that found its streams already at their end)."""
        places, self._pending_places = self._pending_places, []
        units, self._pending_units = self._pending_units, None
        if self.share[0] != 0 or (not places and units is None):
            return
        self._hand_over(_Batch(Changes(), places, units, BatchReport(0, 0, 0, 0)))

    def _settle(self) -> None:
        """Wait for the batch in flight: after it, the connection is this thread's."""
        self._reported(self._writer.drain())

    def _reported(self, batches: Sequence[_Batch]) -> None:
        if self.on_batch is not None:
            for batch in batches:
                self.on_batch(batch.report)

    def _write(self, batch: _Batch) -> None:
        write_batch(self._conn, batch.changes, batch.places, batch.units)

    def _fold_next(self) -> _Batch:
        """Consume, decode and fold one batch; its dead letters are on their topics."""
        changes = Changes()
        places, self._pending_places = self._pending_places + self._read_reference(), []
        units, self._pending_units = self._pending_units, None
        if self.share[0] != 0:
            places, units = [], None  # one writer of the places and units
        read = 0
        for messages in self._chunks():
            read += len(messages)
            self._preload(messages)
            fold_batch(self.state, self._decoded(messages, changes), changes, self.until)
        for tp, pos in changes.positions.items():
            mine = self.positions.setdefault(tp, Position(0))
            mine.next_offset = pos.next_offset
            mine.caught_up = pos.caught_up
            mine.saw(pos.max_event_time)
        if changes.dead_letters:
            # On their .dlq topics before the batch commits: at least once there, exactly once
            # in the schema's dead_letters table. A copy not acknowledged (PublishFailed) stops
            # the batch unwritten, so a restart dead-letters them again.
            self._dead_letters.send(changes.dead_letters)
        self._trim_cache()
        report = BatchReport(
            read,
            changes.applied,
            changes.duplicates,
            len(changes.dead_letters),
            changes.positions,
        )
        return _Batch(changes, places, units, report)

    def _chunks(self) -> Iterator[list[Message]]:
        """One batch's records, ``_CHUNK`` at a time, until the batch is full or its wait is
        over: each chunk is decoded while its bytes are still in the CPU's caches, where a
        whole replay batch (100,000 records, some 30 MB) would long have left them."""
        assert self._consumer is not None
        wanted = self.settings.projector_batch
        deadline = time.monotonic() + self.settings.projector_max_wait_s
        while wanted > 0:
            wait = max(0.0, deadline - time.monotonic())
            messages = self._consumer.consume(min(_CHUNK, wanted), wait)
            if not messages:
                return
            wanted -= len(messages)
            yield messages

    def _decoded(self, messages: Sequence[Message], changes: Changes) -> Iterator[Decoded]:
        """Each record decoded as the fold takes it, so that its datum is freed once folded
        rather than a whole batch of them held at once (a quarter of a replay's peak memory).
        Dead letters and the positions of partition ends are noted in ``changes`` in
        offset order, among the records."""
        for msg in messages:
            topic, partition, offset = where(msg)
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    # The end, past any transaction markers that are never delivered.
                    known = self.positions[(topic, partition)].next_offset
                    pos = changes.positions.setdefault((topic, partition), Position(known))
                    pos.next_offset = max(pos.next_offset, known, offset)
                    pos.caught_up = True
                    continue
                raise BrokerUnavailable(f"consuming {topic}[{partition}] failed: {err}")
            value = msg.value() or b""
            stream = self.streams[topic]
            try:
                event_type, datum = self.codec.decode_datum(value, topic, partition, offset)
                why = _miskeyed(msg.key(), datum) if stream == "case" else None
            except DecodeError as exc:
                why = exc.reason
            if why is not None:
                changes.dead_letters.append(DeadLetter(topic, partition, offset, why, value))
                changes.advance(topic, partition, offset, None)
                continue
            yield Decoded(stream, topic, partition, offset, event_type, datum, value)

    def _preload(self, messages: Sequence[Message]) -> None:
        """Load the cases of this batch that are not in memory: by the records' keys, which
        are their case ids (``_miskeyed``), so before anything is decoded."""
        if self._fresh:
            return
        missing = {
            key.decode("utf-8", "replace")
            for msg in messages
            if self.streams.get(str(msg.topic())) == "case" and (key := msg.key()) is not None
        }
        missing.difference_update(self.state.cases)
        if missing:
            self._settle()  # the batch in flight may hold these cases' latest rows
            cases, deadlines = load_cases(self._conn, sorted(missing))
            self._conn.commit()
            self.state.cases.update(cases)
            self.state.deadlines.update(deadlines)

    def _trim_cache(self) -> None:
        # Beyond the cap, forget every case; from then on cases are reloaded as they recur.
        if len(self.state.cases) > self.settings.projector_cache_cases:
            self.state.cases.clear()
            self.state.deadlines.clear()
            self._fresh = False

    # --- the reference log -----------------------------------------------------------------
    def _read_reference(self) -> list[Place]:
        """Read the reference log up to its end (``ReferenceTail``); the places it (re)defined,
        for ``places``. When it (re)defined a place, an assignment or a department, ``units``
        is rebuilt from the whole view, for the next batch to write."""
        assert self._reference is not None
        events = self._reference.read_to_end()
        if self.until is not None:
            events = [e for e in events if e.envelope.recorded_time <= self.until]
        if not events:
            return []
        self.state.ref = self.state.ref.apply_all(events)
        if any(isinstance(e, _UNIT_SOURCES) for e in events):
            # drawn here, on the fold's thread, once per change of the reference data
            self._pending_units = with_shapes(build_units(self.state.ref), self.state.ref)
        codes = {e.code for e in events if isinstance(e, PlaceDefined | PlaceRetired)}
        return [p for code in sorted(codes) for p in self.state.ref.place_history(code)]


def _miskeyed(key: bytes | None, datum: Mapping[str, Any]) -> str | None:
    """Why a case event cannot be projected, if its key is not its case id: the key puts all
    of a case in one partition, in order, and the projector finds the cases a batch needs by
    the keys alone (``Projector._preload``)."""
    case_id = datum["case_id"]
    if key == case_id.encode():
        return None
    return (
        f"key {key!r} is not the case id {case_id!r}: a case's events are keyed by their "
        "case id (all of a case in one partition, in order)"
    )
