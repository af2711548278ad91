"""What each system submitted through the gateway, and what became of it.

A submission is written once Kafka has acknowledged it; its status is ``pending`` until the
workflow's outcome is materialized (``outcomes``), then ``accepted`` (with the sequence it got
on its stream) or ``rejected`` (with the code and message). A system sees only its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from events.gateway.sink import Delivered
from events.models import Event

__all__ = ["record", "status_of"]


async def record(
    conn: AsyncConnection[Any], system: str, sent: Sequence[tuple[Event, Delivered]]
) -> None:
    """Remember ``sent``; an event id the system submitted before keeps its first row."""
    if not sent:
        return
    # One statement of arrays, not a row per round trip: a batch of 1,000 is one write.
    await conn.execute(
        "INSERT INTO submissions (system, event_id, event_type, topic, kafka_partition,"
        " kafka_offset) SELECT %s, * FROM unnest(%s::text[], %s::text[], %s::text[],"
        " %s::int[], %s::bigint[]) ON CONFLICT DO NOTHING",
        (
            system,
            [e.envelope.event_id for e, _ in sent],
            [e.event_type for e, _ in sent],
            [d.topic for _, d in sent],
            [d.partition for _, d in sent],
            [d.offset for _, d in sent],
        ),
    )


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
