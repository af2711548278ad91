"""The gateway's ``Recorder`` on the real PostgreSQL: concurrent requests' submissions written
together, each request answered only once its rows are written; a failed statement raised in
every request whose rows it held, and the next write served afresh."""

from __future__ import annotations

import asyncio

import psycopg
from psycopg_pool import AsyncConnectionPool

from events.gateway.sink import Delivered
from events.gateway.submissions import Recorder
from events.models import Event
from tests.factories import example_event
from tests.integration.gateway_helpers import (
    GatewayWorld,
    gateway_world_fixture,  # noqa: F401 (a fixture)
)


def _sent(offset: int) -> tuple[Event, Delivered]:
    return example_event("CaseReported"), Delivered("inbox", 0, offset)


async def _recorded(
    schema: str, dsn: str, requests: list[tuple[str, list[tuple[Event, Delivered]]]]
) -> list[BaseException | None]:
    pool = AsyncConnectionPool(
        dsn,
        min_size=1,
        max_size=2,
        open=False,
        kwargs={"autocommit": True, "options": f"-c search_path={schema}"},
    )
    await pool.open(wait=True)
    try:
        recorder = Recorder(pool)
        return await asyncio.gather(
            *(recorder.record(system, sent) for system, sent in requests), return_exceptions=True
        )
    finally:
        await pool.close()


def test_concurrent_requests_are_each_answered_once_their_rows_are_written(
    world: GatewayWorld,
) -> None:
    requests = [(f"sys.{i % 3}", [_sent(i * 10 + j) for j in range(i % 4)]) for i in range(60)]
    again = requests[5][1][0]  # submitted twice: its first row stays
    requests.append((requests[5][0], [(again[0], Delivered("inbox", 0, 999_999))]))
    answers = asyncio.run(_recorded(world.schema, world.dsn, requests))
    assert answers == [None] * len(requests)
    with world.conn() as conn:
        rows = {
            (system, event_id): offset
            for system, event_id, offset in conn.execute(
                "SELECT system, event_id, kafka_offset FROM submissions"
            )
        }
    expected = {(s, e.envelope.event_id): d.offset for s, sent in requests[:-1] for e, d in sent}
    assert rows == expected


def test_a_failed_write_is_raised_in_every_request_it_held_and_the_next_is_served(
    world: GatewayWorld,
) -> None:
    async def scenario() -> list[BaseException | None]:
        pool = AsyncConnectionPool(
            world.dsn,
            min_size=1,
            max_size=2,
            open=False,
            kwargs={"autocommit": True, "options": f"-c search_path={world.schema}"},
        )
        await pool.open(wait=True)
        recorder = Recorder(pool)
        try:
            with world.conn() as conn:  # the table gone, as a failing statement would find it
                conn.execute("ALTER TABLE submissions RENAME TO submissions_away")
            try:
                failed = await asyncio.gather(
                    *(recorder.record(f"fail.{i}", [_sent(i)]) for i in range(5)),
                    return_exceptions=True,
                )
            finally:
                with world.conn() as conn:
                    conn.execute("ALTER TABLE submissions_away RENAME TO submissions")
            await recorder.record("fail.after", [_sent(1)])  # raises if not written
            return failed
        finally:
            await pool.close()

    failed = asyncio.run(scenario())
    assert all(isinstance(a, psycopg.errors.UndefinedTable) for a in failed), failed
    with world.conn() as conn:
        systems = {row[0] for row in conn.execute("SELECT system FROM submissions")}
    assert {s for s in systems if s.startswith("fail.")} == {"fail.after"}
