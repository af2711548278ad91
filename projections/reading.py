"""How every read-model query reads: one REPEATABLE READ snapshot of the projection's
active schema (``fq_meta.active_projection``, so a promoted replay serves from the next call
on), its rows, and its freshness: the event time the read models it comes from are complete
up to. The analysts' queries (``projections.queries``) and the dashboard's panels
(``projections.panels``) all read through ``answer``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from projections.errors import UnknownProjection
from projections.tables import READ_MODELS, topic_patterns
from projections.versions import active_schema

__all__ = ["Answer", "answer", "freshness", "snapshot"]


@dataclass(frozen=True)
class Answer:
    """Rows, and the event time the read models behind them are complete up to."""

    rows: list[dict[str, Any]]
    complete_to: datetime | None
    schema: str


def _open(conn: psycopg.Connection[Any], projection: str) -> str:
    schema = active_schema(conn, projection)
    if schema is None:
        raise UnknownProjection(
            f"projection {projection} has no active schema yet: run `fengqiao project` first"
        )
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    return schema


def freshness(conn: psycopg.Connection[Any], tables: Sequence[str]) -> datetime | None:
    """The event time the tables are complete up to: the earliest latest-event-time among
    the partitions of their sources still being read; when all are caught up, the latest."""
    sources = {s for t in tables for s in READ_MODELS[t].sources}
    if not sources:
        return None
    topics = topic_patterns(sources)
    row = conn.execute(
        "SELECT min(max_event_time) FILTER (WHERE NOT caught_up), max(max_event_time) "
        "FROM checkpoints WHERE topic LIKE ANY(%s) AND max_event_time IS NOT NULL",
        (topics,),
    ).fetchone()
    if row is None:
        return None
    behind, latest = row
    found: datetime | None = behind if behind is not None else latest
    return found


@contextmanager
def snapshot(conn: psycopg.Connection[Any], projection: str) -> Iterator[str]:
    """One REPEATABLE READ transaction on the projection's active schema (its name is
    yielded), so every read inside it, the freshness included, sees the same state.

    Raises:
        UnknownProjection: the projection has no active schema yet.
    """
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.commit()  # a snapshot of our own below; the caller's reads end here
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield _open(conn, projection)


def answer(
    conn: psycopg.Connection[Any],
    projection: str,
    tables: Sequence[str],
    query: str | sql.Composable,
    params: Sequence[Any] | dict[str, Any] = (),
) -> Answer:
    """The rows of ``query`` and the freshness of ``tables``, from one snapshot."""
    with snapshot(conn, projection) as schema:
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(query, params).fetchall()  # type: ignore[arg-type]
        complete_to = freshness(conn, tables)
    return Answer(rows, complete_to, schema)
