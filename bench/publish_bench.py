"""Publishing throughput: the SDK (validate-free encode + produce + confirmed delivery) vs the
raw confluent-kafka producer on the same pre-encoded bytes, same config, same run.

    .venv/bin/python bench/publish_bench.py [--events 200000] [--repeats 3]

Each repeat runs both, alternating, into fresh topics; the figures are medians.
Target: SDK >= 50% of raw.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import date, timedelta
from functools import partial

from confluent_kafka import Producer

from bench.common import fresh_topics, median_rate, report, timed
from events.kafka_io import produce
from events.models import Event
from events.publisher import POLL_EVERY, Publisher, PublisherSettings
from events.registry import SchemaRegistry
from infra.stack.topics_admin import admin_client, delete_topics_starting
from simulate.activity import day_events
from simulate.city import CityShape, reference_events


def mixed_events(n: int, seed: int = 7) -> list[Event]:
    """``n`` events of a simulated city: reference data, then days of visits and cases."""
    rng = random.Random(seed)
    city, events = reference_events(CityShape(streets=12, grids=1000), seed)
    day = date(2025, 3, 3)
    while len(events) < n:
        events.extend(day_events(city, day, rng))
        day += timedelta(days=1)
    return events[:n]


def run(repeats: int = 3, events: int = 200_000) -> dict[str, object]:
    """Both sides ``repeats`` times on ``events`` mixed events; the medians and their ratio."""
    settings = PublisherSettings(auto_register=True)
    print(f"generating {events} mixed events…", file=sys.stderr)
    batch = mixed_events(events)
    registry = SchemaRegistry(settings.registry_url)
    sdk_runs, raw_runs = [], []
    for repeat in range(repeats):
        inbox = fresh_topics(settings.kafka_bootstrap, ["case", "visit", "reference"])
        publisher = Publisher(settings, registry, inbox=inbox)
        # Warm: schema ids, connections, producer id, and the leaders of all three fresh
        # topics (the raw side, run second, finds them warm too).
        publisher.publish_batch([next(e for e in batch if e.stream == s) for s in inbox])
        sdk = timed(partial(sdk_publish, publisher, batch))
        encoded = [
            (inbox[e.stream], e.key().encode(), publisher.codec.encode(inbox[e.stream], e))
            for e in batch
        ]
        raw_runs.append(timed(partial(raw_produce, settings, encoded)))
        sdk_runs.append(sdk)
        delete_topics_starting(admin_client(settings.kafka_bootstrap), tuple(inbox.values()))
        print(
            f"repeat {repeat + 1}: sdk {sdk[1] / sdk[0]:,.0f}/s, "
            f"raw {raw_runs[-1][1] / raw_runs[-1][0]:,.0f}/s",
            file=sys.stderr,
        )
        if sdk[1] != len(batch):
            raise RuntimeError(f"SDK lost events: {sdk[1]} of {len(batch)} acknowledged")
    sdk_rate, raw_rate = median_rate(sdk_runs), median_rate(raw_runs)
    return {
        "events": len(batch),
        "repeats": repeats,
        "sdk_events_per_s": round(sdk_rate),
        "raw_events_per_s": round(raw_rate),
        "ratio": round(sdk_rate / raw_rate, 3),
        "target_ratio": 0.5,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    report("publish", run(args.repeats, args.events))


def sdk_publish(publisher: Publisher, batch: list[Event]) -> int:
    """The SDK's side: ``batch`` published in one call; how many records it sent."""
    return len(publisher.publish_batch(batch).receipts)


def raw_produce(settings: PublisherSettings, records: list[tuple[str, bytes, bytes]]) -> int:
    producer = Producer(settings.producer_config())
    acked = 0

    def done(err: object, _msg: object) -> None:
        nonlocal acked
        if err is None:
            acked += 1

    # The SDK's produce loop, without the SDK: serve deliveries every POLL_EVERY records.
    for sent, (topic, key, value) in enumerate(records, 1):
        produce(producer, topic, value, key, done, serve=False)
        if not sent % POLL_EVERY:
            producer.poll(0)
    producer.flush(60)
    return acked


if __name__ == "__main__":
    main()
