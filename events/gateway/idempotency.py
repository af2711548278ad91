"""``Idempotency-Key``: the same key and body get the same answer, from any gateway process.

A keyed request runs in one PostgreSQL transaction that holds a transaction-level advisory
lock on (system, key) from the first look-up until its answer is stored with it. So:
- a second request while the first is being answered finds the lock taken: 409;
- after the first committed, the stored answer is replayed (another body: 422);
- a gateway that dies before committing (even after Kafka acknowledged the record) leaves
  nothing stored and its lock released with its connection; the retry produces the event again
  under the same event id, which the workflow answers as a duplicate, never as a second event.
Only answers without a server error are stored: a 503 must be retried, not replayed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from events.gateway.problems import idempotency_conflict, idempotency_in_flight

__all__ = ["Answer", "answer_once", "body_hash"]


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as it is stored and replayed."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    storable: bool = True  # False when part of it was a server error: never replay that


def body_hash(raw: bytes) -> bytes:
    """What identifies a request's body."""
    return hashlib.sha256(raw).digest()


async def answer_once(
    conn: AsyncConnection[Any],
    system: str,
    key: str,
    request_hash: bytes,
    make: Callable[[], Awaitable[Answer]],
) -> Answer:
    """The stored answer to (system, key), or ``make()``'s, stored when it is storable.

    Raises:
        Problem: 409 while another request with the key is being answered; 422 when the key
            was used with another body.
    """
    async with conn.transaction():
        lock = await conn.execute(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (f"{system}\x1f{key}",)
        )
        taken = await lock.fetchone()
        if not (taken and taken[0]):
            raise idempotency_in_flight(key)
        found = await conn.execute(
            "SELECT request_hash, status, body FROM idempotency WHERE system = %s AND key = %s",
            (system, key),
        )
        row = await found.fetchone()
        if row is not None:
            if bytes(row[0]) != request_hash:
                raise idempotency_conflict(key)
            return Answer(row[1], row[2]["body"], row[2]["headers"])
        answer = await make()
        if answer.storable:
            await conn.execute(
                "INSERT INTO idempotency (system, key, request_hash, status, body)"
                " VALUES (%s, %s, %s, %s, %s)",
                (
                    system,
                    key,
                    request_hash,
                    answer.status,
                    Jsonb({"body": answer.body, "headers": answer.headers}),
                ),
            )
        return answer
