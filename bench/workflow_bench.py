"""Workflow throughput: submissions/s decided by ``fengqiao process`` (decode, decide, encode,
exactly-once write of the canonical events, rejections and state), next to a faust
pass-through agent on the same bytes with the same settings, in the same run.

    .venv/bin/python -m bench.workflow_bench [--submissions 200000] [--repeats 2] [--workers 2]

Each side gets its own topics and app id. The reference data is loaded first; then the
burst (a realistic mix of case lifecycles and visits of simulated days) is produced as
pre-encoded bytes all at once, and the rate is taken while the group's committed offsets
go from 10% to 90% of the burst. The burst is long enough (200,000: some 15 s at 10,000/s)
for the 1 s transaction commits, which move the committed offsets in steps, to blur the rate
by a few percent only; with 60,000 the same configuration measured 8,200 to 11,600/s.
Target: >= 10,000/s and >= 50% of the pass-through.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from confluent_kafka import Consumer, ConsumerGroupState, Producer, TopicPartition

from bench.common import deployment_topics, median_rate, report
from events.codec import AvroCodec
from events.kafka_access import kafka_config
from events.kafka_io import Deliveries, produce
from events.models import Event
from events.registry import SchemaRegistry
from events.topics import INBOX
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import admin_client, delete_topics_starting
from infra.topics import TopicSpec
from simulate.activity import day_events
from simulate.city import CityShape, reference_events

ROOT = Path(__file__).resolve().parent.parent
FENGQIAO = ROOT / ".venv" / "bin" / "fengqiao"


def workload(n: int, seed: int = 5) -> tuple[list[Event], list[Event]]:
    rng = random.Random(seed)
    city, reference = reference_events(CityShape(streets=4, grids=400), seed)
    burst: list[Event] = []
    day = date(2025, 3, 3)
    while len(burst) < n:
        burst.extend(day_events(city, day, rng))
        day += timedelta(days=1)
    return reference, burst[:n]


class Side:
    """One measured processor on its own topics."""

    def __init__(
        self, conn: ConnectionSettings, name: str, command: list[str], workers: int = 1
    ) -> None:
        self.conn, self.prefix = conn, f"bench.{name}.{uuid.uuid4().hex[:6]}."
        self.workers = workers
        self.app_id = f"{self.prefix}app"
        self.command = command
        extra = (TopicSpec(f"{self.prefix}passthrough.out", 12),)
        deployment_topics(conn, self.prefix, self.app_id, extra)
        self.producer = Producer(
            {
                **kafka_config(conn.kafka_bootstrap),
                "acks": "all",
                "enable.idempotence": True,
                "partitioner": "murmur2_random",
                "linger.ms": 5,
                "queue.buffering.max.messages": 2_000_000,
            }
        )
        self.procs: list[subprocess.Popen[bytes]] = []

    def produce(self, records: list[tuple[str, bytes, bytes]]) -> None:
        deliveries = Deliveries()
        for logical, key, value in records:
            produce(self.producer, f"{self.prefix}{logical}", value, key, deliveries)
        deliveries.flush(self.producer, 120, "the burst")

    def start(self) -> None:
        for n in range(self.workers):
            env = {
                **os.environ,
                "FQ_TOPIC_PREFIX": self.prefix,
                "FQ_WORKFLOW_APP_ID": self.app_id,
                "FQ_TRIGGER_INTERVAL_S": "0",
                "FQ_LOG_LEVEL": "warning",
                "FQ_KAFKA_BOOTSTRAP": self.conn.kafka_bootstrap,
                "FQ_WORKFLOW_DATA_DIR": tempfile.mkdtemp(prefix=f"{self.app_id}-{n}-"),
            }
            log = open(ROOT / ".data" / "logs" / f"{self.app_id}-{n}.log", "wb")  # noqa: SIM115
            self.procs.append(
                subprocess.Popen(
                    self.command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
                )
            )

    def wait_until_stable(self, timeout_s: float = 120) -> None:
        """Until every worker has joined the group and its partitions are assigned, so that
        no rebalance falls inside the measured window."""
        admin = admin_client(self.conn.kafka_bootstrap)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            group = admin.describe_consumer_groups([self.app_id])[self.app_id].result(10)
            if group.state == ConsumerGroupState.STABLE and len(group.members) == self.workers:
                return
            time.sleep(0.25)
        raise TimeoutError(f"{self.app_id}: {self.workers} workers not stable in {timeout_s}s")

    def committed(self, topics: list[str]) -> int:
        consumer = Consumer(
            {
                **kafka_config(self.conn.kafka_bootstrap),
                "group.id": self.app_id,
                "enable.auto.commit": False,
            }
        )
        try:
            tps = [
                TopicPartition(f"{self.prefix}{t}", p)
                for t in topics
                for p in range(1 if t == INBOX["reference"] else 12)
            ]
            return sum(max(tp.offset, 0) for tp in consumer.committed(tps, timeout=10))
        finally:
            consumer.close()

    def wait_for(
        self, topics: list[str], target: int, timeout_s: float = 600
    ) -> list[tuple[float, int]]:
        """Poll committed offsets until ``target``; the (time, count) samples seen."""
        samples = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.procs and all(p.poll() is None for p in self.procs), f"{self.app_id} exited"
            count = self.committed(topics)
            samples.append((time.monotonic(), count))
            if count >= target:
                return samples
            time.sleep(0.25)
        raise TimeoutError(f"{self.app_id}: {samples[-1][1]} of {target} after {timeout_s}s")

    def stop(self) -> None:
        """Stop the workers and delete the side's topics (a run would otherwise leave some
        200 partitions behind on the broker, and later runs measure a busier one)."""
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.producer.flush(10)
        delete_topics_starting(admin_client(self.conn.kafka_bootstrap), (self.prefix,))


def rate_between(samples: list[tuple[float, int]], base: int, n: int) -> tuple[float, int]:
    """Seconds and count between 10% and 90% of the burst (start-up and tail excluded)."""
    lo = next(s for s in samples if s[1] - base >= 0.1 * n)
    hi = next(s for s in samples if s[1] - base >= 0.9 * n)
    return max(hi[0] - lo[0], 1e-6), hi[1] - lo[1]


def measure(
    side: Side, reference: list[tuple[str, bytes, bytes]], burst: list[tuple[str, bytes, bytes]]
) -> tuple[float, int]:
    topics = [INBOX["case"], INBOX["visit"]]
    try:
        side.produce(reference)
        side.start()
        side.wait_for([INBOX["reference"]] if reference else topics, len(reference))
        side.wait_until_stable()
        base = side.committed(topics)
        side.produce(burst)
        return rate_between(side.wait_for(topics, base + len(burst)), base, len(burst))
    finally:
        side.stop()


def run(repeats: int = 2, submissions: int = 200_000, workers: int = 2) -> dict[str, object]:
    """Both sides ``repeats`` times on the same burst, with one worker process each and with
    ``workers`` each; the medians and their ratios."""
    conn = ConnectionSettings()
    codec = AvroCodec(SchemaRegistry(conn.registry_url))
    reference, burst = workload(submissions)

    def encode(events: list[Event]) -> list[tuple[str, bytes, bytes]]:
        return [
            (INBOX[e.stream], e.key().encode(), codec.encode(INBOX[e.stream], e)) for e in events
        ]

    ref_bytes, burst_bytes = encode(reference), encode(burst)
    print(f"{len(ref_bytes)} reference events, burst of {len(burst_bytes)}", file=sys.stderr)
    counts = sorted({1, workers})
    runs: dict[tuple[str, int], list[tuple[float, int]]] = {}
    for repeat in range(repeats):
        for n in counts:
            wf = measure(
                Side(conn, "workflow", [str(FENGQIAO), "process"], n), ref_bytes, burst_bytes
            )
            pt = measure(
                Side(conn, "passthrough", [sys.executable, "-m", "bench.passthrough"], n),
                [],
                burst_bytes,
            )
            runs.setdefault(("workflow", n), []).append(wf)
            runs.setdefault(("passthrough", n), []).append(pt)
            print(
                f"repeat {repeat + 1}, {n} worker(s) each: workflow {wf[1] / wf[0]:,.0f}/s, "
                f"pass-through {pt[1] / pt[0]:,.0f}/s",
                file=sys.stderr,
            )
    figures: dict[str, object] = {"submissions": len(burst_bytes), "repeats": repeats}
    workflow_rates = []
    for n in counts:
        wf_rate, pt_rate = median_rate(runs[("workflow", n)]), median_rate(runs[("passthrough", n)])
        workflow_rates.append(round(wf_rate))
        suffix = "" if n == 1 else f"_{n}_workers"
        figures |= {
            f"workflow{suffix}_per_s": round(wf_rate),
            f"passthrough{suffix}_per_s": round(pt_rate),
            f"ratio{suffix}": round(wf_rate / pt_rate, 3),
        }
    return figures | {
        "workflow_best_per_s": max(workflow_rates),
        "target_per_s": 10_000,
        "target_ratio": 0.5,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes per side, measured beside one each (default 2)",
    )
    args = parser.parse_args()
    report("workflow", run(args.repeats, args.submissions, args.workers))


if __name__ == "__main__":
    main()
