"""The HTTP gateway's throughput and latency, beside the SDK publishing the same events in
the same run.

    .venv/bin/python -m bench.gateway_bench [--events 50000] [--repeats 1] [--rate 1000]

Each repeat, on topics and a PostgreSQL schema of its own, with ``fengqiao gateway`` served
as a real process (port ``--port``, 8093 by default) and a key of scope ``*``:
- batch: ``--events`` mixed events (reference data, visits, cases of a simulated city)
  through ``POST /v1/events/batch`` in batches of ``--batch`` from ``--clients`` concurrent
  clients, each answered only once Kafka acknowledged every record; events/s;
- SDK: the same events through ``Publisher.publish_batch``; events/s; ``ratio`` = batch/SDK;
- single: ``POST /v1/events`` one event a request, sent open-loop at ``--rate`` requests/s
  for ``--seconds`` from ``--clients`` concurrent connections; latency p50/p99 from each
  request's scheduled time (so a stalled gateway counts its queue) and the rate achieved.
Targets: ratio >= 0.5; single p99 <= 20 ms at 1,000 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from psycopg import sql

from bench.common import report, stop_process
from bench.publish_bench import mixed_events
from events.gateway.credentials import CredentialStore
from events.gateway.database import ensure_schema
from events.models import Event
from events.publisher import Publisher, PublisherSettings
from infra.cli_process import prefixed
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import admin_client, delete_topics_starting, ensure_topics

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def body(event: Event) -> bytes:
    """``event`` as a system posts it (the stamped envelope fields left out)."""
    data = event.model_dump(mode="json")
    for name in ("source_system", "recorded_time"):
        data["envelope"].pop(name)
    return orjson.dumps({"event_type": event.event_type, **data})


@contextmanager
def served_gateway(
    connection: ConnectionSettings, port: int, workers: int = 1
) -> Iterator[tuple[str, str, str]]:
    """A gateway on topics and a schema of its own: (url, key, topic prefix)."""
    run = uuid.uuid4().hex[:8]
    prefix, schema = f"bench.gw{run}.", f"bench_gw_{run}"
    admin = admin_client(connection.kafka_bootstrap)
    ensure_topics(admin, connection, prefixed(prefix))
    dsn = connection.pg_dsn.get_secret_value()
    ensure_schema(dsn, schema)
    with psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}") as conn:
        key = CredentialStore(conn).create("bench.app", ["*"], ["*"], ["*"]).key
    env = {
        **os.environ,
        "FQ_KAFKA_BOOTSTRAP": connection.kafka_bootstrap,
        "FQ_REGISTRY_URL": connection.registry_url,
        "FQ_PG_DSN": dsn,
        "FQ_TOPIC_PREFIX": prefix,
        "FQ_GATEWAY_SCHEMA": schema,
        "FQ_GATEWAY_PORT": str(port),
        "FQ_AUTO_REGISTER": "true",
        "FQ_GATEWAY_WORKERS": str(workers),
        **{k: v for k, v in os.environ.items() if k.startswith("FQ_GATEWAY_")},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "gateway"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the gateway exited with {process.returncode}")
            try:
                if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway did not answer within 90 s")
            time.sleep(0.2)
        yield url, key, prefix
    finally:
        stop_process(process)
        delete_topics_starting(admin, (prefix,))
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def through_batches(url: str, key: str, bodies: list[bytes], size: int, clients: int) -> float:
    """Events/s of ``bodies`` posted in batches of ``size`` by ``clients`` threads."""
    chunks = [
        b'{"events":[' + b",".join(bodies[i : i + size]) + b"]}"
        for i in range(0, len(bodies), size)
    ]
    headers = {"X-Api-Key": key, "content-type": "application/json"}

    def send(part: list[bytes]) -> int:
        accepted = 0
        with httpx.Client(timeout=120) as http:
            for chunk in part:
                r = http.post(f"{url}/v1/events/batch", content=chunk, headers=headers)
                r.raise_for_status()
                accepted += r.json()["accepted"]
        return accepted

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        accepted = sum(pool.map(send, [chunks[i::clients] for i in range(clients)]))
    seconds = time.perf_counter() - start
    if accepted != len(bodies):
        raise RuntimeError(f"the gateway accepted {accepted} of {len(bodies)} events")
    return len(bodies) / seconds


def through_sdk(
    connection: ConnectionSettings, prefix: str, events: list[Event] | list[dict[str, Any]]
) -> float:
    """Events/s of ``Publisher.publish_batch``: of models (encoded as they are), or of the
    JSON objects a system would read its events from (validated first, as at the gateway)."""
    settings = PublisherSettings(
        kafka_bootstrap=connection.kafka_bootstrap,
        registry_url=connection.registry_url,
        topic_prefix=prefix,
        auto_register=True,
    )
    with Publisher(settings) as publisher:
        publisher.publish_batch(events[:3])  # warm: schema ids, connections, leaders
        start = time.perf_counter()
        result = publisher.publish_batch(events)
        seconds = time.perf_counter() - start
    if result.failures:
        raise RuntimeError(f"the SDK failed {len(result.failures)} events")
    return len(events) / seconds


async def singles(
    url: str, key: str, bodies: list[bytes], rate: float, seconds: float, clients: int
) -> dict[str, float]:
    """Open-loop ``rate`` requests/s for ``seconds``; latencies from each scheduled time."""
    count = int(rate * seconds)
    headers = {"X-Api-Key": key, "content-type": "application/json"}
    latencies: list[float] = []
    failed = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    timeout = httpx.Timeout(30, pool=None)  # a request waiting for a connection is still counted
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as http:
        for warm in bodies[:20]:  # connections and caches warm
            await http.post("/v1/events", content=warm, headers=headers)
        start = time.perf_counter()

        async def one(i: int, due: float) -> None:
            nonlocal failed
            r = await http.post("/v1/events", content=bodies[20 + i], headers=headers)
            if r.status_code != 202:
                failed += 1
            latencies.append(time.perf_counter() - due)

        # Open loop: each request is started at its due time, whatever the others are doing.
        started = []
        for i in range(count):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            started.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*started)
        elapsed = time.perf_counter() - start
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "single_requests": count,
        "single_failed": failed,
        "single_offered_per_s": rate,
        "single_achieved_per_s": round(count / elapsed),
        "single_p50_ms": round(quantiles[49] * 1000, 2),
        "single_p99_ms": round(quantiles[98] * 1000, 2),
    }


def run(
    repeats: int = 1,
    events: int = 50_000,
    batch: int = 1000,
    clients: int = 4,
    rate: float = 1000.0,
    seconds: float = 10.0,
    port: int = 8093,
    workers: int = 1,
) -> dict[str, Any]:
    """Every side ``repeats`` times; the medians, the ratio of batch to SDK and the load."""
    connection = ConnectionSettings()
    print(f"generating {events} mixed events…", file=sys.stderr)
    mixed = mixed_events(events)
    singles_count = int(rate * seconds) + 20
    extra = mixed_events(events + singles_count, seed=8)[events:]
    batch_bodies = [body(e) for e in mixed]
    single_bodies = [body(e) for e in extra]
    as_json = [
        {**orjson.loads(b), "envelope": e.model_dump(mode="json")["envelope"]}
        for b, e in zip(batch_bodies, mixed, strict=True)
    ]
    batch_rates, sdk_rates, sdk_json_rates, single_runs = [], [], [], []
    for repeat in range(repeats):
        with served_gateway(connection, port, workers) as (url, key, prefix):
            sdk_rates.append(through_sdk(connection, prefix, mixed))
            sdk_json_rates.append(through_sdk(connection, prefix, as_json))
            batch_rates.append(through_batches(url, key, batch_bodies, batch, clients))
            single_runs.append(
                asyncio.run(singles(url, key, single_bodies, rate, seconds, clients * 4))
            )
        print(
            f"repeat {repeat + 1}: batch {batch_rates[-1]:,.0f}/s, sdk {sdk_rates[-1]:,.0f}/s "
            f"(from JSON {sdk_json_rates[-1]:,.0f}/s), "
            f"single p99 {single_runs[-1]['single_p99_ms']} ms at "
            f"{single_runs[-1]['single_achieved_per_s']}/s",
            file=sys.stderr,
        )
    batch_rate, sdk_rate = statistics.median(batch_rates), statistics.median(sdk_rates)
    sdk_json_rate = statistics.median(sdk_json_rates)
    middle = sorted(single_runs, key=lambda r: r["single_p99_ms"])[len(single_runs) // 2]
    return {
        "events": len(mixed),
        "repeats": repeats,
        "batch_size": batch,
        "clients": clients,
        "batch_events_per_s": round(batch_rate),
        "sdk_events_per_s": round(sdk_rate),
        "ratio": round(batch_rate / sdk_rate, 3),
        "sdk_from_json_events_per_s": round(sdk_json_rate),
        "ratio_to_sdk_from_json": round(batch_rate / sdk_json_rate, 3),
        "workers": workers,
        **middle,
        "load_1min": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    figures = run(
        args.repeats,
        args.events,
        args.batch,
        args.clients,
        args.rate,
        args.seconds,
        args.port,
        args.workers,
    )
    report("gateway", figures)


if __name__ == "__main__":
    main()
