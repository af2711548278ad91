"""A projector's claim on the schema it writes, and its move to the schema a promotion made
active.

Two projectors writing one schema would apply each batch twice, so each holds a claim: a
PostgreSQL session advisory lock keyed by the schema (and by the share of the partitions it
writes, when a replay runs several side by side), which PostgreSQL releases when the
connection ends, however the process ends. A live projector told to follow its projection
asks which schema serves (``versions.active_schema``); once ``fengqiao projections promote``
has made another one active, it claims that one before letting go of its own and carries on
there from the positions the promoted schema holds (``resume``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from projections.batch import Position
from projections.errors import ProjectionError
from projections.store import load_checkpoints, load_visit_sequences, use_schema
from projections.versions import active_schema

__all__ = ["Resumed", "SchemaClaim", "claim_key", "resume"]


def claim_key(schema: str, share: tuple[int, int] = (0, 1)) -> str:
    """The advisory lock's name for writing ``schema``, or share ``(i, n)`` of it."""
    index, count = share
    return f"fengqiao-projector/{schema}" + (f"#{index}/{count}" if count > 1 else "")


class SchemaClaim:
    """Claims of one connection: the schemas (or shares of them) it alone may write.

    Args:
        conn: the projector's connection; a claim lasts as long as its session.
        share: ``(i, n)``: the share of the partitions claimed; ``(0, 1)`` for all of them.
    """

    def __init__(self, conn: psycopg.Connection[Any], share: tuple[int, int] = (0, 1)) -> None:
        self._conn = conn
        self._share = share

    def take(self, schema: str) -> None:
        """Claim ``schema`` (this share of it).

        Raises:
            ProjectionError: another connection holds the claim.
        """
        (mine,) = self._conn.execute(
            "SELECT pg_try_advisory_lock(hashtext(%s))", (claim_key(schema, self._share),)
        ).fetchone() or (False,)
        self._conn.commit()
        if not mine:
            raise ProjectionError(
                f"another projector is writing schema {schema}; stop it first (two writers "
                "of one schema would apply each batch twice)"
            )

    def release(self, schema: str) -> None:
        """Let another projector claim ``schema`` (this share of it)."""
        self._conn.execute(
            "SELECT pg_advisory_unlock(hashtext(%s))", (claim_key(schema, self._share),)
        )
        self._conn.commit()

    def follow(self, projection: str, schema: str) -> str | None:
        """The schema ``projection`` serves, once a promotion made it another than ``schema``:
        claimed, ``schema`` released, and the connection reading and writing it; ``None``
        while ``schema`` still serves (or none does), with nothing changed.

        Raises:
            ProjectionError: another projector already writes the promoted schema; ``schema``
                is still claimed and still the connection's.
        """
        active = active_schema(self._conn, projection)
        self._conn.commit()
        if active is None or active == schema:
            return None
        self.take(active)
        self.release(schema)
        use_schema(self._conn, active)
        return active


@dataclass(frozen=True)
class Resumed:
    """Where a claimed schema left off: the positions and the fold state it holds (cases are
    loaded as they recur)."""

    positions: dict[tuple[str, int], Position]
    visit_sequences: dict[str, int]
    fresh: bool  # the schema holds no case yet: a case not in memory is a new one


def resume(conn: psycopg.Connection[Any]) -> Resumed:
    """What the connection's schema holds to carry on from."""
    positions = load_checkpoints(conn)
    visit_sequences = load_visit_sequences(conn)
    (cases,) = conn.execute("SELECT count(*) FROM cases").fetchone() or (0,)
    conn.commit()
    return Resumed(positions, visit_sequences, cases == 0)
