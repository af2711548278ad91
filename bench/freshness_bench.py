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
import sys
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from confluent_kafka import Producer

from bench.common import report
from bench.freshness_pipeline import Pipeline, Submission, Timings, workload
from bench.freshness_watchers import POLL_S, Background, LogWatcher, ReadModelWatcher
from events.codec import AvroCodec
from events.kafka_io import Deliveries, produce
from events.publisher import PublisherSettings
from events.registry import SchemaRegistry
from events.topics import INBOX
from infra.settings import ConnectionSettings
from simulate.city import CityShape


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
    watchers: list[Background] = []
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
