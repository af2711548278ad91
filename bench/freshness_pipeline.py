"""The freshness benchmark's pipeline and load: the workflow and the projector as deployed, on
topics and a projection of their own, and the simulated city's submissions encoded beforehand."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
from confluent_kafka import KafkaError, Message, TopicPartition
from psycopg import sql

from bench.common import deployment_topics
from events.codec import AvroCodec
from events.kafka_io import reader
from events.models import VisitRecorded
from events.topics import INBOX, REFERENCE_EVENTS, REJECTIONS
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import admin_client, delete_topics_starting
from infra.topics import STREAM_PARTITIONS
from projections.versions import active_schema, ensure_meta
from simulate.city import CityShape, reference_events
from simulate.stream import Simulation

ROOT = Path(__file__).resolve().parent.parent
FENGQIAO = ROOT / ".venv" / "bin" / "fengqiao"
START = date(2025, 3, 3)
READY_TIMEOUT_S = 300.0
NAN = float("nan")


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
    for event in islice(Simulation(city, seed, START).events(), n):
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
        deployment_topics(self.conn, self.prefix, self.app_id)

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
