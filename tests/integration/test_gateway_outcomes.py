"""The outcomes of a system's submissions, read from ``fq.outcomes`` (written here as the
workflow would), as pages and as a Server-Sent Events stream resumed by ``Last-Event-ID``;
held in PostgreSQL once each, whether gateways restart or several read at once."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from confluent_kafka import Producer

from events.kafka_access import kafka_config
from events.models import OutcomeStatus
from events.topics import OUTCOMES
from tests.integration.gateway_helpers import (
    GatewayWorld,
    Served,
    gateway_world_fixture,  # noqa: F401 (a fixture)
    get,
    outcome,
    served_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.projection_helpers import wait_for

A, B = "dept.civil-affairs.app", "dept.ecology.app"


@pytest.fixture(scope="module")
def keys(world: GatewayWorld) -> dict[str, str]:
    return {system: world.key(system)[1] for system in (A, B)}


def _write(world: GatewayWorld, system: str, tag: str, n: int) -> list[str]:
    ids = [f"{tag}-{i}" for i in range(n)]
    world.write_outcomes(
        outcome(e, system, OutcomeStatus.ACCEPTED, i, sequence=i + 1) for i, e in enumerate(ids)
    )
    return ids


def _all(served: Served, key: str, after: int = -1) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = get(served, key, "/v1/outcomes", after=after, limit=7).json()
        found += page["outcomes"]
        if page["next"] == after:
            return found
        after = page["next"]


def _rows(world: GatewayWorld) -> int:
    with world.conn() as conn:
        row = conn.execute("SELECT count(*) FROM outcomes").fetchone()
    return int(row[0]) if row else 0


def _wait_rows(world: GatewayWorld, n: int) -> None:
    wait_for(lambda: _rows(world) >= n, 30, f"{n} outcomes materialized")


def test_a_system_reads_its_own_outcomes_in_order_page_by_page(
    world: GatewayWorld, served: Served, keys: dict[str, str]
) -> None:
    mine = _write(world, A, "page-a", 20)
    _write(world, B, "page-b", 5)
    _wait_rows(world, 25)
    found = _all(served, keys[A])
    assert [o["event_id"] for o in found] == mine
    cursors = [o["cursor"] for o in found]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    assert [o["event_id"] for o in _all(served, keys[A], cursors[9])] == mine[10:]
    assert {o["event_id"] for o in _all(served, keys[B])} == {f"page-b-{i}" for i in range(5)}


def _sse(served: Served, key: str, n: int, **headers: str) -> list[tuple[int, dict[str, Any]]]:
    """The first ``n`` outcomes of a stream, as (id, data)."""
    got: list[tuple[int, dict[str, Any]]] = []
    event: dict[str, str] = {}
    with httpx.stream(
        "GET",
        f"{served.url}/v1/outcomes/stream",
        headers={"X-Api-Key": key, **headers},
        timeout=30,
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line == "":
                if "data" in event:
                    got.append((int(event["id"]), orjson.loads(event["data"])))
                    if len(got) == n:
                        return got
                event = {}
            elif not line.startswith(":"):
                field, _, value = line.partition(": ")
                event[field] = value
    return got


def test_the_stream_gives_outcomes_as_they_come_and_resumes_after_last_event_id(
    world: GatewayWorld, served: Served, keys: dict[str, str]
) -> None:
    already = _all(served, keys[A])
    first = _sse(served, keys[A], len(already))
    assert [data["event_id"] for _, data in first] == [o["event_id"] for o in already]
    assert [i for i, _ in first] == [o["cursor"] for o in already]
    later = _write(world, A, "stream-a", 3)
    resumed = _sse(served, keys[A], 3, **{"Last-Event-ID": str(first[-1][0])})
    assert [data["event_id"] for _, data in resumed] == later
    via_accept = httpx.stream(
        "GET",
        f"{served.url}/v1/outcomes",
        params={"after": resumed[0][0]},
        headers={"X-Api-Key": keys[A], "Accept": "text/event-stream"},
        timeout=30,
    )
    with via_accept as r:
        assert r.headers["content-type"].startswith("text/event-stream")


def test_a_restarted_gateway_reads_on_from_its_stored_position_and_stores_each_once(
    world: GatewayWorld, served: Served, keys: dict[str, str]
) -> None:
    before = _rows(world)
    served.stop()
    later = _write(world, A, "restart-a", 4)
    second, third = world.serve(), world.serve()  # two readers of the same topic at once
    _wait_rows(world, before + 4)
    more = _write(world, A, "restart-b", 6)
    _wait_rows(world, before + 10)
    found = [o["event_id"] for o in _all(second, keys[A])]
    assert found[-10:] == later + more
    assert _rows(world) == before + 10
    third.stop()
    second.stop()


def test_a_record_that_is_not_an_outcome_is_skipped_and_the_rest_read(
    world: GatewayWorld, keys: dict[str, str]
) -> None:
    served = world.serve()
    before = _rows(world)
    producer = Producer({**kafka_config(world.connection.kafka_bootstrap)})
    producer.produce(world.topic(OUTCOMES), b"\x00not avro", A.encode())
    producer.flush(10)
    after = _write(world, A, "after-poison", 2)
    _wait_rows(world, before + 2)
    assert [o["event_id"] for o in _all(served, keys[A])][-2:] == after
    assert "skipped an outcome that does not decode" in served.log.read_text()
    served.stop()
