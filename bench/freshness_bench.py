"""Live freshness: how long a submission takes to become visible in the read model, p50 and
p99, while submissions arrive at a sustained rate (the issue: 1,000/s for 60 s), with a
lower rate the pipeline can sustain measured in the same run as a second point.

    .venv/bin/python -m bench.freshness_bench [--rate 1000] [--seconds 60] [--low-rate 300]

The whole pipeline runs as deployed, on topics and a projection of its own: ``fengqiao
process`` (deadline trigger off) and ``fengqiao project`` (``FQ_PROJECTOR_MAX_WAIT_S`` 0.05,
``FQ_PROJECTOR_BATCH`` 2000) as subprocesses, their logs in a temporary folder named on
stderr. The simulated city's reference data is submitted first and waited for; then its
case and visit submissions (``simulate.stream.Simulation``: seeded, in recording order, all
meant to be accepted) are paced out, the low rate first and then the high one, each phase
followed by a drain period. The submissions are generated and Avro-encoded before the clock
starts, so the load generator spends its CPU on producing only; the event times stay the
simulated ones (2025), which the workflow accepts as it would a backfill.

What is measured, per submission:
- published: ``time.monotonic()`` just before ``Producer.produce`` with the SDK's producer
  settings (acks=all, idempotent, linger 5 ms; uncompressed, as the faust workflow cannot
  read the SDK's lz4 batches); the acknowledgement time (delivery callback) is kept too, and
  the ``from_ack_`` figures start there;
- visible: the start of the first poll (every 50 ms, one statement, so one snapshot) whose
  snapshot holds its row: ``case_timeline.event_id`` for case submissions, ``visits.visit_id``
  for visits, in the projection's live schema. Each poll reads only the heap pages from the
  last one seen onwards (a TID range scan); a row PostgreSQL placed in an earlier page is
  found by a sweep every 2 s (the rows of batches committed since the last sweep) and dated
  by its batch's transaction id: the projector writes a batch and its checkpoints in one
  transaction, so the first poll whose checkpoints show that id (or a later one) is the
  first that could see the row (``dated_by_transaction`` counts them);
- in between, for the split into ``workflow_`` and ``projector_`` latencies: when a
  read_committed consumer of the run's canonical topics first receives its canonical event
  (the same event id), to within its 50 ms consume timeout.

Submissions the workflow rejected (read back from the run's ``fq.rejections``) are left out
and counted; ones neither visible nor rejected by the end of the drain count as not visible,
and a percentile that falls among them is reported as null. ``repeats`` is not used: one
sustained run gives tens of thousands of samples, and a repeat costs several minutes.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from psycopg import sql

from bench.common import report
from events.codec import AvroCodec
from events.kafka_io import Deliveries, produce, reader
from events.models import SubmissionRejected, VisitRecorded
from events.publisher import PublisherSettings
from events.registry import SchemaRegistry
from events.topics import CASE_EVENTS, INBOX, REFERENCE_EVENTS, REJECTIONS, VISIT_EVENTS
from infra.cli_process import prefixed
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import admin_client, delete_topics_starting, ensure_topics
from infra.topics import STREAM_PARTITIONS
from projections.versions import active_schema, ensure_meta
from simulate.city import CityShape, reference_events
from simulate.stream import Simulation

ROOT = Path(__file__).resolve().parent.parent
FENGQIAO = ROOT / ".venv" / "bin" / "fengqiao"
START = date(2025, 3, 3)
POLL_S = 0.05
SWEEP_S = 2.0
SAMPLE_S = 0.5
READY_TIMEOUT_S = 300.0
NAN = float("nan")

# One statement, so one snapshot: the rows from the last heap page seen onwards, and the
# latest batch the checkpoints show (the projector writes both in one transaction).
_POLL = """
SELECT 'case_timeline', event_id, xmin::text::bigint, (ctid::text::point)[0]::bigint
  FROM {s}.case_timeline WHERE ctid >= %s::tid
UNION ALL
SELECT 'visits', visit_id, xmin::text::bigint, (ctid::text::point)[0]::bigint
  FROM {s}.visits WHERE ctid >= %s::tid
UNION ALL
SELECT 'checkpoints', NULL, max(xmin::text::bigint), NULL FROM {s}.checkpoints
"""
# The rows of batches committed since the last sweep (one writer: its transaction ids grow).
_SWEEP = """
SELECT 'case_timeline', event_id, xmin::text::bigint FROM {s}.case_timeline
 WHERE xmin::text::bigint > %(after)s
UNION ALL
SELECT 'visits', visit_id, xmin::text::bigint FROM {s}.visits
 WHERE xmin::text::bigint > %(after)s
"""


class Submission(NamedTuple):
    inbox: str  # logical topic
    key: bytes
    value: bytes
    event_id: str
    table: str  # where it shows: case_timeline (by event id) or visits (by visit id)
    row_id: str


@dataclass
class Timings:
    """Per submission, by its index (``time.monotonic()``; NaN: not yet): when it was
    produced, acknowledged, readable in the canonical log and first visible in the read
    model; and the ones rejected by the workflow or refused by Kafka."""

    produced: list[float]
    acked: list[float]
    canonical: list[float]  # its canonical event readable (committed) in the log
    seen: list[float]
    rejected: dict[int, float] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, n: int) -> Timings:
        return cls([NAN] * n, [NAN] * n, [NAN] * n, [NAN] * n)

    def on_delivery(self, index: int, err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            self.acked[index] = time.monotonic()
        else:
            self.failed[index] = err.str()


def workload(
    codec: AvroCodec, shape: CityShape, seed: int, n: int
) -> tuple[list[tuple[bytes, bytes]], list[Submission]]:
    """The city's reference records and its first ``n`` case and visit submissions, encoded."""
    city, reference = reference_events(shape, seed)
    inbox = INBOX["reference"]
    ref = [(e.key().encode(), codec.encode(inbox, e)) for e in reference]
    subs = []
    with closing(Simulation(city, seed, START).events()) as events:
        for event in islice(events, n):
            topic = INBOX[event.stream]
            if isinstance(event, VisitRecorded):
                table, row_id = "visits", event.visit_id
            elif event.stream == "case":
                table, row_id = "case_timeline", event.envelope.event_id
            else:
                raise ValueError(f"unexpected {event.event_type} in the simulated stream")
            subs.append(
                Submission(
                    topic,
                    event.key().encode(),
                    codec.encode(topic, event),
                    event.envelope.event_id,
                    table,
                    row_id,
                )
            )
    if len(subs) < n:
        raise ValueError(f"the simulation gave {len(subs)} submissions, {n} wanted")
    return ref, subs


class Pipeline:
    """The workflow and the projector on a topic prefix, app id and projection of their own."""

    def __init__(self, conn: ConnectionSettings) -> None:
        run = uuid.uuid4().hex[:8]
        self.conn, self.prefix, self.app_id = conn, f"bench.fresh.{run}.", f"bench-fresh-{run}"
        self.projection = f"bench_fresh_{run}"
        self.dsn = conn.pg_dsn.get_secret_value()
        self.logs = Path(tempfile.mkdtemp(prefix=f"fq-freshness-{run}-"))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.schema = ""

    def create_topics(self) -> None:
        ensure_topics(admin_client(self.conn.kafka_bootstrap), self.conn, prefixed(self.prefix))

    def topic(self, logical: str) -> str:
        return f"{self.prefix}{logical}"

    def start(self) -> None:
        env = {
            **os.environ,
            "FQ_KAFKA_BOOTSTRAP": self.conn.kafka_bootstrap,
            "FQ_REGISTRY_URL": self.conn.registry_url,
            "FQ_PG_DSN": self.dsn,
            "FQ_TOPIC_PREFIX": self.prefix,
            "FQ_LOG_LEVEL": "warning",
        }
        self._spawn(
            "process",
            {
                **env,
                "FQ_WORKFLOW_APP_ID": self.app_id,
                "FQ_TRIGGER_INTERVAL_S": "0",
                "FQ_WORKFLOW_DATA_DIR": str(self.logs / "faust"),
            },
        )
        self._spawn(
            "project",
            {
                **env,
                "FQ_PROJECTION": self.projection,
                "FQ_PROJECTOR_MAX_WAIT_S": "0.05",
                "FQ_PROJECTOR_BATCH": "2000",
            },
        )

    def _spawn(self, command: str, env: dict[str, str]) -> None:
        with (self.logs / f"{command}.log").open("wb") as log:
            self.procs[command] = subprocess.Popen(
                [str(FENGQIAO), command], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )

    def check(self) -> None:
        """Raise, with the log's tail, when either subprocess has exited."""
        for command, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.logs / f"{command}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"fengqiao {command} exited ({proc.returncode}):\n{tail}")

    def wait_for_reference(self, expected: int) -> None:
        """Until the workflow has accepted every reference record (read back, committed)."""
        consumer = reader(self.conn.kafka_bootstrap, "bench-fresh-ref")
        consumer.assign(
            [TopicPartition(self.topic(REFERENCE_EVENTS), 0, 0)]
            + [TopicPartition(self.topic(REJECTIONS), p, 0) for p in range(STREAM_PARTITIONS)]
        )
        counts = {self.topic(REFERENCE_EVENTS): 0, self.topic(REJECTIONS): 0}
        try:
            for _ in self._until(lambda: sum(counts.values()) >= expected, "reference data"):
                for msg in consumer.consume(10_000, 0.5):
                    if msg.error() is None:
                        counts[msg.topic() or ""] += 1
        finally:
            consumer.close()
        if counts[self.topic(REJECTIONS)]:
            raise RuntimeError(
                f"the workflow rejected {counts[self.topic(REJECTIONS)]} "
                "reference records; see the run's fq.rejections"
            )

    def wait_for_projector(self) -> None:
        """Until the projector has made its live schema and checkpointed every partition."""
        with psycopg.connect(self.dsn, autocommit=True) as c:
            ensure_meta(c)
            for _ in self._until(lambda: bool(self.schema), "the projection schema"):
                self.schema = active_schema(c, self.projection) or ""
                time.sleep(0.2)
            query = sql.SQL("SELECT count(*) FROM {}.checkpoints").format(
                sql.Identifier(self.schema)
            )

            def checkpointed() -> bool:
                row = c.execute(query).fetchone()
                return row is not None and row[0] >= 2 * STREAM_PARTITIONS

            for _ in self._until(checkpointed, "the projector's first checkpoints"):
                time.sleep(0.2)

    def _until(self, done: Any, what: str) -> Iterator[None]:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not done():
            self.check()
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} after {READY_TIMEOUT_S:.0f} s; logs in {self.logs}")
            yield

    def cpu_seconds(self) -> dict[str, float]:
        """User + system CPU seconds of each subprocess so far (Linux ``/proc``)."""
        ticks = os.sysconf("SC_CLK_TCK")
        out = {}
        for command, proc in self.procs.items():
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[command] = (int(fields[11]) + int(fields[12])) / ticks
        return out

    def close(self) -> None:
        """Stop both subprocesses (SIGTERM, then wait), drop the projection, delete the topics."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        with psycopg.connect(self.dsn, autocommit=True) as c:
            ensure_meta(c)
            c.execute(
                "DELETE FROM fq_meta.active_projection WHERE projection = %s", (self.projection,)
            )
            rows = c.execute(
                "DELETE FROM fq_meta.projection_schemas WHERE projection = %s "
                "RETURNING schema_name",
                (self.projection,),
            ).fetchall()
            for (schema,) in rows:
                drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                c.execute(drop.format(sql.Identifier(schema)))
        admin = admin_client(self.conn.kafka_bootstrap)
        delete_topics_starting(admin, (self.prefix, f"{self.app_id}-"))


class _Background(threading.Thread):
    """A loop in a thread until ``stop()``; what it raises is kept in ``error``."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join(30)

    def run(self) -> None:
        try:
            self.loop()
        except BaseException as exc:  # noqa: BLE001 (handed to the main thread, raised there)
            self.error = exc

    def loop(self) -> None:
        raise NotImplementedError


class ReadModelWatcher(_Background):
    """Every ``POLL_S``: which submissions the read model shows (see the module docstring);
    every ``SAMPLE_S``: how many inbox records the workflow has committed."""

    def __init__(self, pipeline: Pipeline, subs: list[Submission], timings: Timings) -> None:
        super().__init__("freshness-read-model")
        self.pipeline, self.timings = pipeline, timings
        self.index: dict[str, dict[str, int]] = {"case_timeline": {}, "visits": {}}
        for i, s in enumerate(subs):
            self.index[s.table][s.row_id] = i
        self.pages = {"case_timeline": 0, "visits": 0}
        self.xids: list[int] = []  # the highest checkpoint xmin, as first seen at...
        self.xid_times: list[float] = []  # ...these times
        self.committed: list[tuple[float, int]] = []  # (time, inbox records the workflow read)
        self.via_xmin = self._swept = 0
        schema = sql.Identifier(pipeline.schema)
        self._poll_sql = sql.SQL(_POLL).format(s=schema)
        self._sweep_sql = sql.SQL(_SWEEP).format(s=schema)

    def loop(self) -> None:
        p = self.pipeline
        group = Consumer(
            {
                "bootstrap.servers": p.conn.kafka_bootstrap,
                "group.id": p.app_id,
                "enable.auto.commit": False,
            }
        )
        inboxes = [
            TopicPartition(p.topic(INBOX[s]), n)
            for s in ("case", "visit")
            for n in range(STREAM_PARTITIONS)
        ]
        try:
            with psycopg.connect(p.dsn, autocommit=True) as c:
                next_poll = next_sweep = next_sample = time.monotonic()
                while not self._halt.is_set():
                    now = time.monotonic()
                    if now >= next_sample:
                        done = sum(max(tp.offset, 0) for tp in group.committed(inboxes, 10))
                        self.committed.append((time.monotonic(), done))
                        next_sample = now + SAMPLE_S
                    if now >= next_sweep:
                        self._sweep(c)
                        next_sweep = now + SWEEP_S
                    self._poll(c)
                    next_poll = max(next_poll + POLL_S, time.monotonic())
                    self._halt.wait(next_poll - time.monotonic())
                self._sweep(c)
        finally:
            group.close()

    def _poll(self, c: psycopg.Connection[Any]) -> None:
        began = time.monotonic()
        pages = tuple(f"({self.pages[t]},0)" for t in ("case_timeline", "visits"))
        seen = self.timings.seen
        for table, row_id, xid, page in c.execute(self._poll_sql, pages).fetchall():
            if table == "checkpoints":
                if xid is not None and (not self.xids or xid > self.xids[-1]):
                    self.xids.append(xid)
                    self.xid_times.append(began)
                continue
            self.pages[table] = max(self.pages[table], page)
            i = self.index[table].get(row_id)
            if i is not None and math.isnan(seen[i]):
                seen[i] = began

    def _sweep(self, c: psycopg.Connection[Any]) -> None:
        """The rows a poll did not meet (placed in an earlier page), dated by their batch."""
        now = time.monotonic()
        seen = self.timings.seen
        for table, row_id, xid in c.execute(self._sweep_sql, {"after": self._swept}).fetchall():
            self._swept = max(self._swept, xid)
            i = self.index[table].get(row_id)
            if i is not None and math.isnan(seen[i]):
                k = bisect_left(self.xids, xid)
                seen[i] = self.xid_times[k] if k < len(self.xids) else now
                self.via_xmin += 1


class LogWatcher(_Background):
    """When each submission's canonical event can first be read (read_committed), and which
    submissions the workflow rejected: the two halves of the latency, and what to leave out."""

    def __init__(self, pipeline: Pipeline, subs: list[Submission], timings: Timings) -> None:
        super().__init__("freshness-log")
        self.pipeline, self.timings = pipeline, timings
        self.by_event = {s.event_id: i for i, s in enumerate(subs)}
        self._rejections = pipeline.topic(REJECTIONS)

    def loop(self) -> None:
        p = self.pipeline
        codec = AvroCodec(SchemaRegistry(p.conn.registry_url))
        consumer = reader(p.conn.kafka_bootstrap, "bench-fresh-log")
        consumer.assign(
            [
                TopicPartition(p.topic(t), n, 0)
                for t in (CASE_EVENTS, VISIT_EVENTS, REJECTIONS)
                for n in range(STREAM_PARTITIONS)
            ]
        )
        try:
            while not self._halt.is_set():
                for msg in consumer.consume(1000, POLL_S):
                    if msg.error() is None:
                        self._record(codec, msg, time.monotonic())
        finally:
            consumer.close()
            codec.registry.close()

    def _record(self, codec: AvroCodec, msg: Message, now: float) -> None:
        value = msg.value() or b""
        if msg.topic() == self._rejections:
            event = codec.decode(value, REJECTIONS)
            if isinstance(event, SubmissionRejected):
                i = self.by_event.get(event.submission_event_id)
                if i is not None:
                    self.timings.rejected.setdefault(i, now)
            return
        _, datum = codec.decode_datum(value, msg.topic(), msg.partition(), msg.offset())
        i = self.by_event.get(datum["envelope"]["event_id"])
        if i is not None and math.isnan(self.timings.canonical[i]):
            self.timings.canonical[i] = now


def pace(
    producer: Producer,
    pipeline: Pipeline,
    subs: list[Submission],
    timings: Timings,
    first: int,
    count: int,
    rate: float,
) -> None:
    """Produce ``subs[first:first + count]``, submission k due at k / ``rate`` s from now."""
    began = time.monotonic()
    sent = 0
    while sent < count:
        due = min(count, int((time.monotonic() - began) * rate) + 1)
        for i in range(first + sent, first + due):
            s = subs[i]
            timings.produced[i] = time.monotonic()
            produce(
                producer, pipeline.topic(s.inbox), s.value, s.key, partial(timings.on_delivery, i)
            )
        sent = due
        producer.poll(0)
        time.sleep(0.002)


def percentile_ms(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile in ms; None when it falls on a submission never seen (inf)."""
    if not values:
        return None
    ordered = sorted(values)
    x = ordered[max(0, math.ceil(q * len(ordered)) - 1)]
    return None if math.isinf(x) else round(x * 1000, 1)


@dataclass
class Bench:
    """One run: the pipeline, the load generator's producer and what watches the outcomes."""

    pipeline: Pipeline
    producer: Producer
    subs: list[Submission]
    timings: Timings
    read_model: ReadModelWatcher
    log: LogWatcher

    def check(self) -> None:
        self.pipeline.check()
        for watcher in (self.read_model, self.log):
            if watcher.error is not None:
                raise watcher.error

    def settled(self, i: int) -> bool:
        t = self.timings
        return i in t.failed or i in t.rejected or not math.isnan(t.seen[i])


def run_phase(
    bench: Bench, first: int, rate: float, seconds: float, drain_s: float
) -> dict[str, Any]:
    """One sustained phase and its drain; its figures."""
    count = int(rate * seconds)
    span = range(first, first + count)
    load, cpu0, own0 = os.getloadavg()[0], bench.pipeline.cpu_seconds(), time.process_time()
    pace(bench.producer, bench.pipeline, bench.subs, bench.timings, first, count, rate)
    bench.producer.flush(60)
    cpu1, own1 = bench.pipeline.cpu_seconds(), time.process_time()
    t = bench.timings
    window = max(t.produced[first + count - 1] - t.produced[first], 1e-9)
    deadline = t.produced[first + count - 1] + drain_s
    while time.monotonic() < deadline and not all(bench.settled(i) for i in span):
        bench.check()
        time.sleep(0.2)
    time.sleep(2 * POLL_S)  # a rejection answering the last submissions is read by now
    return {
        **latency_figures(bench, span),
        "workflow_cores": round((cpu1["process"] - cpu0["process"]) / window, 2),
        "projector_cores": round((cpu1["project"] - cpu0["project"]) / window, 2),
        "load_generator_cores": round((own1 - own0) / window, 2),
        "loadavg_1m_at_start": round(load, 2),
    }


def latency_figures(bench: Bench, span: range) -> dict[str, Any]:
    """Percentiles, the first and last 10 s, the backlog and the throughput of one phase."""
    t, first, count = bench.timings, span.start, len(span)
    t_first, t_last = t.produced[first], t.produced[span[-1]]
    kept = [i for i in span if i not in t.failed and i not in t.rejected]

    def since(ends: list[float], starts: list[float], only: list[int] = kept) -> list[float]:
        return [(math.inf if math.isnan(ends[i]) else ends[i]) - starts[i] for i in only]

    lat = since(t.seen, t.produced)

    def window(lo: float, hi: float) -> list[float]:
        return since(t.seen, t.produced, [i for i in kept if lo <= t.produced[i] - t_first < hi])

    def pcts(name: str, values: list[float]) -> dict[str, float | None]:
        return {
            f"{name}p50_ms": percentile_ms(values, 0.5),
            f"{name}p99_ms": percentile_ms(values, 0.99),
        }

    def settled_by(i: int, when: float) -> bool:
        return t.seen[i] <= when or t.rejected.get(i, math.inf) <= when  # NaN: not seen

    seen = sorted(t.seen[i] for i in kept if not math.isnan(t.seen[i]))
    logged = [i for i in kept if not math.isnan(t.canonical[i])]
    by_last = [i for i in span if t.acked[i] <= t_last]
    committed = bench.read_model.committed
    return {
        "submitted": sum(1 for i in span if i not in t.failed),
        "achieved_per_s": round((count - 1) / max(t_last - t_first, 1e-9), 1),
        **pcts("", lat),
        "max_ms": percentile_ms(lat, 1.0),
        **pcts("from_ack_", since(t.seen, t.acked)),
        "ack_p50_ms": percentile_ms(since(t.acked, t.produced), 0.5),
        **pcts("workflow_", since(t.canonical, t.produced)),
        **pcts("projector_", since(t.seen, t.canonical, logged)),
        **pcts("first_10s_", window(0, 10)),
        **pcts("last_10s_", window(t_last - t_first - 10, math.inf)),
        "visible": len(seen),
        "rejected": sum(1 for i in span if i in t.rejected),
        "not_visible": len(kept) - len(seen),
        "backlog_at_last_submission": sum(1 for i in by_last if not settled_by(i, t_last)),
        "workflow_backlog_at_last_submission": first
        + len(by_last)
        - max((n for when, n in committed if when <= t_last), default=0),
        "drained_s": round(seen[-1] - t_last, 2) if seen and len(seen) == len(kept) else None,
        "workflow_per_s": _middle_rate(
            [(when, n - first) for when, n in committed if when >= t_first], count
        ),
        "projector_per_s": _middle_rate([(when, k + 1) for k, when in enumerate(seen)], count),
    }


def _middle_rate(samples: list[tuple[float, int]], total: int) -> float | None:
    """Items per second between 10% and 90% of ``total`` (None when 90% was not reached)."""
    lo = next((s for s in samples if s[1] >= 0.1 * total), None)
    hi = next((s for s in samples if s[1] >= 0.9 * total), None)
    if lo is None or hi is None or hi[0] <= lo[0]:
        return None
    return round((hi[1] - lo[1]) / (hi[0] - lo[0]), 1)


def run(
    repeats: int = 1,
    rate: float = 1000,
    seconds: float = 60,
    low_rate: float = 300,
    drain_s: float = 60,
    shape: str = "zhuangshi",
    seed: int = 11,
) -> dict[str, Any]:
    """The low-rate phase, then the high-rate one, on one pipeline; their figures (the high
    rate's unprefixed, the low rate's prefixed ``low_``). ``repeats`` is not used."""
    del repeats
    conn = ConnectionSettings()
    phases = [(r, label) for r, label in ((low_rate, "low_"), (rate, "")) if r > 0]
    counts = [int(r * seconds) for r, _ in phases]
    codec = AvroCodec(SchemaRegistry(conn.registry_url))
    try:
        reference, subs = workload(codec, CityShape.named(shape), seed, sum(counts))
    finally:
        codec.registry.close()
    print(f"{len(reference)} reference records, {len(subs)} submissions", file=sys.stderr)
    timings = Timings.of(len(subs))
    pipeline = Pipeline(conn)
    print(f"logs in {pipeline.logs}", file=sys.stderr)
    # Uncompressed: the SDK's lz4 batches crash the faust workflow (aiokafka has no lz4 here).
    publisher = PublisherSettings(
        kafka_bootstrap=conn.kafka_bootstrap, kafka_overrides={"compression.type": "none"}
    )
    producer = Producer(publisher.producer_config())
    figures: dict[str, Any] = {
        "shape": shape,
        "reference_records": len(reference),
        "rate": rate,
        "low_rate": low_rate,
        "seconds": seconds,
        "drain_s": drain_s,
        "poll_ms": POLL_S * 1000,
    }
    watchers: list[_Background] = []
    try:
        pipeline.create_topics()
        deliveries = Deliveries()
        for key, value in reference:
            produce(producer, pipeline.topic(INBOX["reference"]), value, key, deliveries)
        deliveries.flush(producer, 60, "the reference records")
        pipeline.start()
        pipeline.wait_for_reference(len(reference))
        pipeline.wait_for_projector()
        bench = Bench(
            pipeline,
            producer,
            subs,
            timings,
            ReadModelWatcher(pipeline, subs, timings),
            LogWatcher(pipeline, subs, timings),
        )
        watchers = [bench.read_model, bench.log]
        for watcher in watchers:
            watcher.start()
        first = 0
        for (phase_rate, label), count in zip(phases, counts, strict=True):
            print(f"{phase_rate:g}/s for {seconds:g} s…", file=sys.stderr, flush=True)
            got = run_phase(bench, first, phase_rate, seconds, drain_s)
            print(
                f"  p50 {got['p50_ms']} ms, p99 {got['p99_ms']} ms, backlog at the last "
                f"submission {got['backlog_at_last_submission']}",
                file=sys.stderr,
            )
            figures.update({f"{label}{k}": v for k, v in got.items()})
            first += count
        for watcher in watchers:
            watcher.stop()
        bench.check()
        figures["dated_by_transaction"] = bench.read_model.via_xmin
    finally:
        try:
            for watcher in watchers:
                if watcher.is_alive():
                    watcher.stop()
            producer.flush(10)
        finally:
            pipeline.close()  # whatever happened above: no subprocess outlives the run
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=1000, help="submissions/s (1000)")
    parser.add_argument("--seconds", type=float, default=60, help="length of each phase (60)")
    parser.add_argument(
        "--low-rate",
        type=float,
        default=300,
        help="the second point, submissions/s; 0 for none (300)",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=60,
        help="seconds to wait after each phase's last submission (60)",
    )
    parser.add_argument("--shape", default="zhuangshi", help="zhuangshi | ningbo")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    report(
        "freshness",
        run(1, args.rate, args.seconds, args.low_rate, args.drain, args.shape, args.seed),
    )


if __name__ == "__main__":
    main()
