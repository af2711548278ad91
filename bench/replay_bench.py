"""Replay benchmark: the projector rebuilding every read model from a canonical log of at
least a million case and visit events, beside the raw consume + decode rate of the same
topics (the ceiling: what any reader must pay before folding or writing anything).

    .venv/bin/python -m bench.replay_bench [--days 33] [--repeats 3]

The log is the simulated whole city (``bench.canonical_log``), written once to
``bench.replay.<seed>.<days>.*`` topics and reused by later runs. Each repeat runs the
ceiling in one reader and in ``--workers`` readers side by side (the ceiling of as many
replay workers), then the replay in one process and in ``--workers`` processes (each into a
fresh PostgreSQL schema, dropped afterwards); the figures are medians over repeats.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from datetime import date
from typing import Any

from confluent_kafka import TopicPartition
from psycopg import sql

from bench.canonical_log import canonical_events, write_canonical_log
from bench.common import deployment_topics, median_rate, report
from events.codec import AvroCodec
from events.kafka_io import reader, where
from events.registry import SchemaRegistry
from infra.settings import ConnectionSettings
from infra.stack.acl_admin import grant_deployment
from infra.stack.topics_admin import admin_client, delete_topics_starting, ensure_topics
from infra.topics import TopicSpec
from projections.log_ends import end_offsets
from projections.replay import replay
from projections.settings import ProjectorSettings
from projections.store import connect, create_schema
from simulate.city import CityShape

START = date(2025, 3, 3)
SEED = 17


def whole_city_log(
    settings: ProjectorSettings, codec: AvroCodec, days: int
) -> dict[tuple[str, int], int]:
    """The benchmark's log, written unless a previous run wrote all of it: its marker topic
    ``<prefix>complete`` is created only once every record is acknowledged. What a stopped
    run left (records, no marker) is deleted and written again, never measured."""
    connection = ConnectionSettings(kafka_bootstrap=settings.kafka_bootstrap)
    admin = admin_client(settings.kafka_bootstrap)
    marker = f"{settings.topic_prefix}complete"
    if marker in admin.list_topics(timeout=30).topics:
        grant_deployment(settings.kafka_bootstrap, settings.topic_prefix)  # a stack locked since
        return end_offsets(settings)
    delete_topics_starting(admin, (settings.topic_prefix,), until_gone=True)
    deployment_topics(connection, settings.topic_prefix)
    started = time.perf_counter()

    def progress(n: int) -> None:
        if n % 100_000 == 0:
            print(
                f"  writing the log: {n:,} events, {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    events = canonical_events(CityShape(), SEED, START, days)
    counts = write_canonical_log(
        settings.kafka_bootstrap, codec, events, settings.topic_prefix, progress
    )
    ensure_topics(admin, connection, [TopicSpec(marker, 1)])
    print(f"  wrote {counts} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return end_offsets(settings)


def consume_and_decode(
    settings: ProjectorSettings, codec: AvroCodec, ends: dict[tuple[str, int], int]
) -> int:
    """Read every case and visit record up to ``ends`` and decode it; nothing else."""
    consumer = reader(settings.kafka_bootstrap, "bench-ceiling", **{"fetch.max.bytes": 52428800})
    consumer.assign([TopicPartition(t, p, 0) for (t, p), end in ends.items() if end > 0])
    remaining = {tp: end for tp, end in ends.items() if end > 0}
    n = 0
    while remaining:
        for msg in consumer.consume(5000, 1.0):
            if msg.error() is not None:
                continue
            topic, partition, offset = where(msg)
            codec.decode_datum(msg.value() or b"", topic, partition, offset)
            n += 1
            if offset + 1 >= remaining.get((topic, partition), 0):
                remaining.pop((topic, partition), None)
    consumer.close()
    return n


def _decode_share(
    settings: ProjectorSettings, ends: dict[tuple[str, int], int], share: tuple[int, int]
) -> None:
    codec = AvroCodec(SchemaRegistry(settings.registry_url))
    mine = {tp: end for tp, end in ends.items() if tp[1] % share[1] == share[0]}
    consume_and_decode(settings, codec, mine)
    codec.registry.close()


def consume_and_decode_shared(
    settings: ProjectorSettings, ends: dict[tuple[str, int], int], workers: int
) -> int:
    """The ceiling of ``workers`` replay processes: as many readers side by side, each with
    the share of partitions a replay worker gets, process start-up included as in replay."""
    context = multiprocessing.get_context("spawn")
    procs = [
        context.Process(target=_decode_share, args=(settings, ends, (i, workers)))
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    failed = [proc.exitcode for proc in procs if proc.exitcode != 0]
    if failed:
        raise RuntimeError(f"a ceiling reader failed (exit {failed[0]})")
    return sum(ends.values())


def replay_into(settings: ProjectorSettings, schema: str, workers: int) -> int:
    with connect(settings.pg_dsn.get_secret_value()) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        create_schema(conn, schema, indexes=False)  # as `fengqiao replay` creates it
    return replay(settings, schema, workers=workers)


def _drop(settings: ProjectorSettings, schema: str) -> None:
    with connect(settings.pg_dsn.get_secret_value()) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def run(repeats: int = 3, days: int = 33, workers: int = 2) -> dict[str, Any]:
    """Ceiling, replay in one process and replay in ``workers`` processes, ``repeats`` times
    on the same log; medians and the ratios to the ceiling."""
    base = ProjectorSettings()
    settings = base.model_copy(update={"topic_prefix": f"bench.replay.{SEED}.{days}."})
    codec = AvroCodec(SchemaRegistry(settings.registry_url))
    ends = whole_city_log(settings, codec, days)
    total = sum(ends.values())
    ceiling: list[tuple[float, int]] = []
    shared_ceiling: list[tuple[float, int]] = []
    replays: list[tuple[float, int]] = []
    shared: list[tuple[float, int]] = []
    for repeat in range(repeats):
        started = time.perf_counter()
        n = consume_and_decode(settings, codec, ends)
        ceiling.append((time.perf_counter() - started, n))
        started = time.perf_counter()
        m = consume_and_decode_shared(settings, ends, workers)
        shared_ceiling.append((time.perf_counter() - started, m))
        for count, samples in ((1, replays), (workers, shared)):
            schema = f"bench_replay_{repeat}_{count}"
            started = time.perf_counter()
            m = replay_into(settings, schema, count)
            samples.append((time.perf_counter() - started, m))
            _drop(settings, schema)
        print(
            f"  repeat {repeat + 1}: ceiling {n / ceiling[-1][0]:,.0f}/s "
            f"({workers} readers {m / shared_ceiling[-1][0]:,.0f}/s), replay "
            f"{replays[-1][1] / replays[-1][0]:,.0f}/s, with {workers} workers "
            f"{shared[-1][1] / shared[-1][0]:,.0f}/s",
            file=sys.stderr,
            flush=True,
        )
    codec.registry.close()
    replay_rate, ceiling_rate = median_rate(replays), median_rate(ceiling)
    shared_rate, shared_ceiling_rate = median_rate(shared), median_rate(shared_ceiling)
    return {
        "events": total,
        "repeats": repeats,
        "replay_per_s": round(replay_rate),
        "consume_decode_per_s": round(ceiling_rate),
        "ratio": round(replay_rate / ceiling_rate, 3),
        "workers": workers,
        f"replay_{workers}_workers_per_s": round(shared_rate),
        f"ratio_{workers}_workers": round(shared_rate / ceiling_rate, 3),
        f"consume_decode_{workers}_readers_per_s": round(shared_ceiling_rate),
        f"ratio_{workers}_workers_to_{workers}_readers": round(
            shared_rate / shared_ceiling_rate, 3
        ),
        "replay_seconds": [round(s, 1) for s, _ in replays],
        f"replay_{workers}_workers_seconds": [round(s, 1) for s, _ in shared],
        "ceiling_seconds": [round(s, 1) for s, _ in ceiling],
        f"ceiling_{workers}_readers_seconds": [round(s, 1) for s, _ in shared_ceiling],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=33)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    report("replay", run(args.repeats, args.days, args.workers))


if __name__ == "__main__":
    main()
