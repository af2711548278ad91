"""Running the workflow worker in tests: its own topics, a subprocess, and its outputs read back.

``WorkflowRun`` gives a test a unique topic prefix and app id, creates the declared topics
under that prefix (as ``fengqiao process`` would), submits events to its inboxes, starts and
kills ``fengqiao process`` as a subprocess, and reads the committed records of its output
topics. ``start_in_city`` starts one with the tiny city's reference data answered, and
``projected`` projects its canonical log in this process. Schemas are registered under the
real topic names only: the codec frames with the logical topic (``events.topics``), so
scratch topics add no registry subjects.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from events.codec import AvroCodec
from events.errors import DecodeError
from events.kafka_access import kafka_config
from events.kafka_io import Deliveries, produce
from events.models import Event, SubmissionOutcome, SubmissionRejected
from events.registry import SchemaRegistry
from events.topics import CASE_EVENTS, INBOX, REFERENCE_EVENTS, REJECTIONS
from infra.cli_process import prefixed
from infra.settings import ConnectionSettings
from infra.stack.acl_admin import grant_deployment
from infra.stack.topics_admin import admin_client, delete_topics_starting, ensure_topics
from simulate.city import City, CityShape, reference_events
from tests.integration.projection_helpers import ProjectionWorld

FENGQIAO = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "fengqiao"
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Record:
    """One committed record of an output topic, decoded when it could be."""

    topic: str  # logical name
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    event: Event | None


MAX_RESTARTS = 3


class WorkflowRun:
    """One isolated workflow: unique topics and app id, a worker subprocess, its outputs."""

    def __init__(
        self,
        connection: ConnectionSettings,
        name: str,
        workdir: Path,
        trigger_interval_s: float,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.connection = connection
        self.settings = dict(settings or {})  # more FQ_ variables for the worker
        self.prefix = f"{name}."
        self.app_id = name
        self.workdir = workdir
        self.trigger_interval_s = trigger_interval_s
        self.commit_interval_s = 0.5
        self.codec = AvroCodec(SchemaRegistry(connection.registry_url))
        self.admin: AdminClient = admin_client(connection.kafka_bootstrap)
        self.worker: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []
        self._dead: set[str] = set()  # group members of killed workers, until they time out
        self._ended = False  # the test stopped or killed the worker
        self.restarts = 0  # after a worker ended itself (FATAL_EXIT), as a supervisor would
        self._deliveries = Deliveries()
        self._producer = Producer(
            {
                **kafka_config(connection.kafka_bootstrap),
                "enable.idempotence": True,
                "acks": "all",
                "partitioner": "murmur2_random",
                "linger.ms": 5,
                "queue.buffering.max.messages": 1_000_000,
            }
        )
        ensure_topics(self.admin, connection, prefixed(self.prefix))
        grant_deployment(connection.kafka_bootstrap, self.prefix, self.app_id)

    def topic(self, logical: str) -> str:
        return f"{self.prefix}{logical}"

    # --- input -----------------------------------------------------------------------------
    def submit(self, events: Iterable[Event]) -> list[str]:
        """Publish ``events`` to their inboxes, keyed by their stream key; their event ids."""
        ids = []
        for event in events:
            inbox = INBOX[event.stream]
            self.produce(inbox, event.key().encode(), self.codec.encode(inbox, event))
            ids.append(event.envelope.event_id)
        self.flush()
        return ids

    def produce(self, logical: str, key: bytes | None, value: bytes) -> None:
        produce(self._producer, self.topic(logical), value, key, self._deliveries)

    def flush(self) -> None:
        self._deliveries.flush(self._producer, 60, "submissions")

    # --- the worker ------------------------------------------------------------------------
    def start(self) -> None:
        """Start ``fengqiao process`` and return once it owns all inbox partitions."""
        env = {
            **os.environ,
            "FQ_KAFKA_BOOTSTRAP": self.connection.kafka_bootstrap,
            "FQ_REGISTRY_URL": self.connection.registry_url,
            "FQ_TOPIC_PREFIX": self.prefix,
            "FQ_WORKFLOW_APP_ID": self.app_id,
            "FQ_TRIGGER_INTERVAL_S": str(self.trigger_interval_s),
            "FQ_COMMIT_INTERVAL_S": str(self.commit_interval_s),
            "FQ_SESSION_TIMEOUT_S": "6",  # a killed worker's partitions move on quickly
            "FQ_COMMIT_STALL_S": "20",  # a worker whose commits stopped is restarted in time
            "FQ_WORKFLOW_DATA_DIR": str(self.workdir / "faust"),
            **self.settings,
        }
        log = self.workdir / f"worker-{len(self.logs) + 1}.log"
        self.logs.append(log)
        self._ended = False
        with log.open("wb") as out:
            self.worker = subprocess.Popen(
                [str(FENGQIAO), "process"],
                env=env,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_assigned()

    def _wait_until_assigned(self) -> None:
        wanted = {self.topic(t) for t in INBOX.values()}
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.worker is not None
            if self.worker.poll() is not None:
                self.ensure_running()  # restarts it, or fails the test
                return
            group = self.admin.describe_consumer_groups([self.app_id])[self.app_id].result()
            assigned = {
                tp.topic
                for member in group.members
                if member.member_id not in self._dead
                for tp in (member.assignment.topic_partitions if member.assignment else [])
            }
            if str(group.state).endswith("STABLE") and wanted <= assigned:
                return
            time.sleep(0.2)
        pytest.fail(f"worker not assigned the inboxes in {START_TIMEOUT_S}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """``kill -9`` the worker: no shutdown, no commit."""
        if self.worker is not None and self.worker.poll() is None:
            group = self.admin.describe_consumer_groups([self.app_id])[self.app_id].result()
            self._dead.update(member.member_id for member in group.members)
            self._ended = True
            self.worker.send_signal(signal.SIGKILL)
            self.worker.wait(30)

    def stop(self) -> int:
        """SIGTERM the worker and wait for its clean exit; its exit code."""
        assert self.worker is not None
        self._ended = True
        if self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            self.worker.wait(60)
        return self.worker.returncode

    def ensure_running(self) -> None:
        """Start again a worker that ended by itself, as its supervisor would, at most
        ``MAX_RESTARTS`` times (then fail, with its log). A worker ends itself on purpose
        (``fatal``: a record it must not decide) or when faust's recovery crashes under a
        rebalance; either way nothing it had not committed is kept, which is what the
        exactly-once checks then prove."""
        if not self._died():
            return
        assert self.worker is not None
        code = self.worker.returncode
        if self.restarts >= MAX_RESTARTS:
            pytest.fail(
                f"the worker died ({code}) {self.restarts + 1} times:\n{self.log_tail(100)}"
            )
        print(
            f"worker ended by itself with {code}; restarting it. Its last lines:\n"
            f"{self.log_tail(5)}"
        )
        group = self.admin.describe_consumer_groups([self.app_id])[self.app_id].result()
        self._dead.update(member.member_id for member in group.members)
        self.restarts += 1
        self.start()

    def _died(self) -> bool:
        """The worker ended without being stopped or killed by the test."""
        return self.worker is not None and not self._ended and self.worker.poll() is not None

    def log_tail(self, lines: int = 40) -> str:
        if not self.logs:
            return ""
        return "\n".join(self.logs[-1].read_text(errors="replace").splitlines()[-lines:])

    # --- output ----------------------------------------------------------------------------
    def _reader(self, **config: object) -> Consumer:
        """A consumer of committed records, from the start, under a group of its own."""
        return Consumer(
            {
                **kafka_config(self.connection.kafka_bootstrap),
                "group.id": f"fqt-read-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "log_level": 2,
                **config,
            }
        )

    def read(
        self,
        logicals: Iterable[str],
        until: Callable[[list[Record]], bool],
        timeout_s: float = 60.0,
    ) -> list[Record]:
        """Committed records of the topics, from the start, until ``until(records)`` holds;
        fails after ``timeout_s`` (with the worker's log)."""
        names = {self.topic(t): t for t in logicals}
        consumer = self._reader()
        records: list[Record] = []
        try:
            metadata = consumer.list_topics(timeout=10)
            consumer.assign(
                [
                    TopicPartition(name, p, 0)
                    for name in names
                    for p in metadata.topics[name].partitions
                ]
            )
            deadline = time.monotonic() + timeout_s
            while not until(records):
                self.ensure_running()
                if time.monotonic() > deadline:
                    missing = until.missing() if isinstance(until, Outcomes) else []
                    pytest.fail(
                        f"outputs incomplete after {timeout_s}s ({len(records)} records)\n"
                        f"{self.locate(missing)}{self.diagnose(names, records)}"
                    )
                for msg in consumer.consume(10_000, 0.5):
                    error = msg.error()
                    if error is not None:
                        assert error.code() == KafkaError._PARTITION_EOF, str(error)
                        continue
                    records.append(self._record(names[msg.topic() or ""], msg))
        finally:
            consumer.close()
        return sorted(records, key=lambda r: (r.topic, r.partition, r.offset))

    def decided(self, ids: Iterable[str], timeout_s: float = 60.0) -> list[Record]:
        """The case log and the refusals, read until every one of ``ids`` is answered."""
        return self.read([CASE_EVENTS, REJECTIONS], outcomes_for(ids), timeout_s)

    def read_to_end(self, logicals: Iterable[str], timeout_s: float = 60.0) -> list[Record]:
        """Every committed record of the topics, up to where each partition's committed
        records end now (its last stable offset), in (topic, partition, offset) order: the
        order partitions are fetched in differs from one read to the next."""
        names = {self.topic(t): t for t in logicals}
        consumer = self._reader(**{"enable.partition.eof": True})
        records: list[Record] = []
        try:
            metadata = consumer.list_topics(timeout=10)
            tps = [
                TopicPartition(name, p, 0)
                for name in names
                for p in metadata.topics[name].partitions
            ]
            consumer.assign(tps)
            left = {(tp.topic, tp.partition) for tp in tps}
            deadline = time.monotonic() + timeout_s
            while left:
                if time.monotonic() > deadline:
                    pytest.fail(f"{sorted(left)} not read to their end in {timeout_s}s")
                for msg in consumer.consume(10_000, 0.5):
                    error = msg.error()
                    if error is not None:
                        assert error.code() == KafkaError._PARTITION_EOF, str(error)
                        left.discard((msg.topic() or "", msg.partition() or 0))
                        continue
                    records.append(self._record(names[msg.topic() or ""], msg))
        finally:
            consumer.close()
        return sorted(records, key=lambda r: (r.topic, r.partition, r.offset))

    def locate(self, missing: Sequence[str], shown: int = 10) -> str:
        """Where the first ``shown`` of the ``missing`` submissions are in their inboxes, and
        whether the group's committed offset has passed them (an input consumed for good
        whose outcome is not in the log), as lines; empty when none is missing."""
        if not missing:
            return ""
        wanted = set(missing[:shown])
        reader = Consumer(
            {
                **kafka_config(self.connection.kafka_bootstrap),
                "group.id": f"fqt-locate-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
            }
        )
        group = Consumer({**kafka_config(self.connection.kafka_bootstrap), "group.id": self.app_id})
        found = []
        try:
            for logical in (INBOX["case"], INBOX["visit"]):
                name = self.topic(logical)
                parts = reader.list_topics(name, timeout=10).topics[name].partitions
                committed = {
                    tp.partition: tp.offset
                    for tp in group.committed([TopicPartition(name, p) for p in parts], timeout=10)
                }
                ends = {
                    p: reader.get_watermark_offsets(TopicPartition(name, p), timeout=10)[1]
                    for p in parts
                }
                reader.assign([TopicPartition(name, p, 0) for p in parts])
                left = {p for p, end in ends.items() if end > 0}
                deadline = time.monotonic() + 30
                while left and time.monotonic() < deadline:
                    for msg in reader.consume(10_000, 1.0):
                        if msg.error() is not None:
                            continue
                        p, offset = msg.partition() or 0, msg.offset() or 0
                        if offset + 1 >= ends[p]:
                            left.discard(p)
                        try:
                            event_id = self.codec.decode(
                                msg.value() or b"", logical
                            ).envelope.event_id
                        except DecodeError:
                            continue
                        if event_id in wanted:
                            done = "committed past it" if committed[p] > offset else "not committed"
                            found.append(
                                f"{event_id} at {name}[{p}]@{offset}: group offset {committed[p]}, {done}"
                            )
                reader.unassign()
        finally:
            reader.close()
            group.close()
        head = f"{len(missing)} submissions without an outcome, e.g.:"
        return "\n".join([head, *found, ""]) + "\n"

    def diagnose(self, outputs: Mapping[str, str], read: Sequence[Record] = ()) -> str:
        """Where the worker stands: its unconsumed inbox records, output partitions whose
        last stable offset lags (an open transaction), output partitions the reader has not
        read to their last stable offset (``read``: what it has), and its tasks' stacks
        (SIGUSR1)."""
        lines = []
        read_to: dict[tuple[str, int], int] = {}
        for r in read:
            key = (r.topic, r.partition)
            read_to[key] = max(read_to.get(key, 0), r.offset + 1)
        plain = Consumer({**kafka_config(self.connection.kafka_bootstrap), "group.id": self.app_id})
        stable = Consumer(
            {
                **kafka_config(self.connection.kafka_bootstrap),
                "group.id": self.app_id,
                "isolation.level": "read_committed",
            }
        )
        try:
            for logical in INBOX.values():
                name = self.topic(logical)
                parts = plain.list_topics(name, timeout=10).topics[name].partitions
                committed = plain.committed([TopicPartition(name, p) for p in parts], timeout=10)
                for tp in committed:
                    high = plain.get_watermark_offsets(tp, timeout=10)[1]
                    if tp.offset != high:
                        lines.append(f"{name}[{tp.partition}]: committed {tp.offset} of {high}")
            for name in outputs:
                for p in plain.list_topics(name, timeout=10).topics[name].partitions:
                    high = plain.get_watermark_offsets(TopicPartition(name, p), timeout=10)[1]
                    lso = stable.get_watermark_offsets(TopicPartition(name, p), timeout=10)[1]
                    if lso != high:
                        lines.append(f"{name}[{p}]: last stable offset {lso}, high {high}")
                    got = read_to.get((outputs[name], p), 0)
                    if read and got < lso:  # markers aside, the reader is behind what is stable
                        lines.append(f"{name}[{p}]: read to offset {got}, last stable {lso}")
        finally:
            plain.close()
            stable.close()
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGUSR1)  # mode's workers log every task's stack
            time.sleep(3)
        return "\n".join([*lines, "", self.log_tail(200)])

    def _record(self, logical: str, msg: Message) -> Record:
        value = msg.value() or b""
        try:
            event = None if logical.endswith(".dlq") else self.codec.decode(value, logical)
        except DecodeError:
            event = None  # the checks fail on it, with where it is
        return Record(
            logical,
            msg.partition() or 0,
            msg.offset() or 0,
            msg.key(),
            value,
            _headers(msg),
            event,
        )

    # --- the end ---------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the worker and delete every topic of this run (faust's internal ones too)."""
        self.kill()
        self._producer.flush(10)
        self.codec.registry.close()
        delete_topics_starting(self.admin, (self.prefix, f"{self.app_id}-"))


def _headers(msg: Message) -> tuple[tuple[str, bytes], ...]:
    raw = msg.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return tuple((k, v) for k, v in pairs if isinstance(v, bytes))


def outcome_id(record: Record) -> str | None:
    """The submission a record answers: a canonical event's own id, or the rejected one's, or
    the one a SubmissionOutcome is the outcome of."""
    if isinstance(record.event, SubmissionRejected | SubmissionOutcome):
        return record.event.submission_event_id
    return record.event.envelope.event_id if record.event is not None else None


class Outcomes:
    """``until`` for ``WorkflowRun.read``: every id has a canonical event or a rejection;
    ``missing()`` names those that have neither yet."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.wanted = list(dict.fromkeys(ids))
        self.found: set[str | None] = set()
        self.looked_at = 0

    def __call__(self, records: list[Record]) -> bool:
        self.found.update(outcome_id(r) for r in records[self.looked_at :])
        self.looked_at = len(records)
        return set(self.wanted) <= self.found

    def missing(self) -> list[str]:
        return [i for i in self.wanted if i not in self.found]


def outcomes_for(ids: Iterable[str]) -> Outcomes:
    """``until`` for ``WorkflowRun.read``: every id has a canonical event or a rejection."""
    return Outcomes(ids)


def outcomes(records: Iterable[Record]) -> list[SubmissionOutcome]:
    """The SubmissionOutcomes among ``records``, in the order read."""
    return [r.event for r in records if isinstance(r.event, SubmissionOutcome)]


def load_reference(run: WorkflowRun, events: Iterable[Event]) -> None:
    """Submit reference data and wait until the worker has answered every definition."""
    ids = run.submit(events)
    run.read([REFERENCE_EVENTS, REJECTIONS], outcomes_for(ids))


@cache
def city() -> tuple[City, tuple[Event, ...]]:
    """The tiny city the workflow tests run in (one district, one street, six grids) and its
    reference events."""
    shape = CityShape(districts=1, streets=1, grids=6, grids_per_village=6, name="tiny")
    town, events = reference_events(shape, seed=11)
    return town, tuple(events)


def start_in_city(run: WorkflowRun) -> WorkflowRun:
    """Start ``run``'s worker and wait until it has answered the tiny city's reference data:
    where a case's submissions can be decided. ``run`` itself."""
    run.start()
    load_reference(run, city()[1])
    return run


@contextmanager
def projected(run: WorkflowRun) -> Iterator[tuple[ProjectionWorld, str]]:
    """``run``'s canonical log projected in this process into the live schema of a projection
    of the run's own: (its world, the live schema); the projection's schemas are dropped after."""
    world = ProjectionWorld(run.connection, run.app_id)
    try:
        live = world.live_schema()
        world.project(live)
        yield world, live
    finally:
        world.cleanup()


@pytest.fixture(name="workflow_run")
def workflow_run_fixture(
    connection_settings: ConnectionSettings,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> Iterator[Callable[..., WorkflowRun]]:
    """A factory of isolated workflow runs; every run is stopped and its topics removed."""
    runs: list[WorkflowRun] = []

    def make(
        trigger_interval_s: float = 0.0, settings: Mapping[str, str] | None = None
    ) -> WorkflowRun:
        name = unique_name("wf")
        workdir = tmp_path / name
        workdir.mkdir()
        run = WorkflowRun(connection_settings, name, workdir, trigger_interval_s, settings)
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.close()


__all__ = [
    "Outcomes",
    "Record",
    "WorkflowRun",
    "city",
    "load_reference",
    "outcome_id",
    "outcomes",
    "outcomes_for",
    "projected",
    "start_in_city",
    "workflow_run_fixture",
]
