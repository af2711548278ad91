"""The freshness benchmark's watchers: when each submission first shows in the read model
(polled every ``POLL_S``) and when its canonical event can first be read from the log."""

from __future__ import annotations

import math
import threading
import time
from bisect import bisect_left
from typing import Any

import psycopg
from confluent_kafka import Consumer, Message, TopicPartition
from psycopg import sql

from bench.freshness_pipeline import Pipeline, Submission, Timings
from events.codec import AvroCodec
from events.kafka_io import reader
from events.models import SubmissionRejected
from events.registry import SchemaRegistry
from events.topics import CASE_EVENTS, INBOX, REJECTIONS, VISIT_EVENTS
from infra.topics import STREAM_PARTITIONS

POLL_S = 0.05
SWEEP_S = 2.0
SAMPLE_S = 0.5

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


class Background(threading.Thread):
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


class ReadModelWatcher(Background):
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


class LogWatcher(Background):
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
