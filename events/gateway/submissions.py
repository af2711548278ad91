"""What each system submitted through the gateway, and what became of it.

A submission is written once Kafka has acknowledged it; its status is ``pending`` until the
workflow's outcome is materialized (``outcomes``), then ``accepted`` (with the sequence it got
on its stream) or ``rejected`` (with the code and message). A system sees only its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from events.errors import InfrastructureError
from events.gateway.sink import Delivered
from events.models import Event

__all__ = ["Recorder", "record", "status_of"]

Sent = Sequence[tuple[Event, Delivered]]


async def record(conn: AsyncConnection[Any], system: str, sent: Sent) -> None:
    """Remember ``sent``; an event id the system submitted before keeps its first row."""
    await _insert(conn, [(system, sent)])


async def _insert(conn: AsyncConnection[Any], parts: Sequence[tuple[str, Sent]]) -> None:
    rows = [
        (system, e.envelope.event_id, e.event_type, *d) for system, sent in parts for e, d in sent
    ]
    if not rows:
        return
    # One statement, the rows as one JSON text made by orjson: a batch of 1,000 is one write,
    # and its parameters no longer cost psycopg's Python array dumpers 3-4 µs a row. Read as
    # jsonb, parsed once: each ->> of a json value parses its row again (8.5 µs of the
    # server's CPU a row, against 6.5).
    await conn.execute(
        "INSERT INTO submissions (system, event_id, event_type, topic, kafka_partition,"
        " kafka_offset) SELECT r->>0, r->>1, r->>2, r->>3, (r->>4)::int, (r->>5)::bigint"
        " FROM jsonb_array_elements(%s::jsonb) AS r ON CONFLICT DO NOTHING",
        (orjson.dumps(rows).decode(),),
    )


class Recorder:
    """Writes the submissions of requests that hold no transaction of their own, the rows of
    every request waiting at the time in one statement.

    Each request still waits until its rows are written (``GET /v1/submissions`` finds a
    submission as soon as it is answered), but concurrent single submissions share a round
    trip to PostgreSQL instead of queueing for the pool's connections one statement each.
    """

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._waiting: list[tuple[str, Sent, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, system: str, sent: Sent) -> None:
        """Remember ``sent`` as ``record`` does, once written with whatever else is waiting.

        Raises:
            psycopg.Error: the statement that held these rows failed (every request whose
                rows it held gets the same error).
        """
        if not sent:
            return
        loop = asyncio.get_running_loop()
        written: asyncio.Future[None] = loop.create_future()
        self._waiting.append((system, sent, written))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write())
        await written

    async def _write(self) -> None:
        while self._waiting:
            taken, self._waiting = self._waiting, []
            # Whatever ends this write, no request is left waiting on it.
            failure: BaseException | None = InfrastructureError("submissions not written")
            try:
                async with self.pool.connection() as conn:
                    await _insert(conn, [(system, sent) for system, sent, _ in taken])
                failure = None
            except psycopg.Error as exc:  # each waiting request raises it (a 500)
                failure = exc
            finally:
                for _, _, written in taken:
                    if written.done():
                        continue
                    if failure is None:
                        written.set_result(None)
                    else:
                        written.set_exception(failure)


async def status_of(
    conn: AsyncConnection[Any], system: str, event_id: str
) -> dict[str, Any] | None:
    """The status of ``system``'s submission ``event_id``, or ``None`` if it has none."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT event_type, submitted_at FROM submissions WHERE system = %s AND event_id = %s",
            (system, event_id),
        )
        submitted = await cur.fetchone()
        await cur.execute(
            "SELECT * FROM outcomes WHERE system = %s AND submission_event_id = %s"
            " ORDER BY kafka_offset LIMIT 1",
            (system, event_id),
        )
        outcome = await cur.fetchone()
    if submitted is None and outcome is None:
        return None
    answer: dict[str, Any] = {"event_id": event_id, "status": "pending"}
    if submitted is not None:
        answer["event_type"] = submitted["event_type"]
        answer["submitted_at"] = submitted["submitted_at"]
    if outcome is not None:
        answer["event_type"] = outcome["submission_type"]
        answer["cursor"] = outcome["kafka_offset"]
        first = outcome["first_status"] or outcome["status"]
        if first == "ACCEPTED":
            answer.update(status="accepted", sequence=outcome["sequence"])
        else:
            answer.update(status="rejected", code=outcome["code"], message=outcome["message"])
    return answer
