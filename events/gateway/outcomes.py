"""The workflow's answers, read from ``fq.outcomes`` into PostgreSQL, and read back by system.

``OutcomeMaterializer`` runs in a thread of every gateway process. For each batch it reads, it
writes the outcomes and the next offset of each partition in one transaction, after locking
that partition's position row: so several gateways reading the same topic write each record
exactly once, and a restarted gateway reads on from the stored position, not from Kafka's.

Outcomes are keyed by the submitting system, so one system's outcomes are in one partition,
in order: a system's cursor is that partition's offset of its last outcome read.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Any

import psycopg
from confluent_kafka import Message, TopicPartition
from psycopg.rows import dict_row

from events.codec import AvroCodec
from events.errors import DecodeError
from events.kafka_io import reader, where
from events.models import SubmissionOutcome

__all__ = ["OutcomeMaterializer", "outcome_view", "page"]

log = logging.getLogger("fengqiao.gateway")
BATCH = 500


class OutcomeMaterializer:
    """Copies ``topic`` into the ``outcomes`` table of the connection's schema."""

    def __init__(self, dsn: str, schema: str, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        self.topic, self.codec = topic, codec
        self._conn = psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}")
        self._consumer = reader(bootstrap, "gateway-outcomes")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gateway-outcomes", daemon=True)
        self.skipped = 0  # records that did not decode: logged and counted, not stored

    def start(self) -> None:
        partitions = self._consumer.list_topics(self.topic, timeout=10).topics[self.topic]
        stored: dict[int, int] = dict(
            self._conn.execute(
                "SELECT kafka_partition, next_offset FROM outcome_positions WHERE topic = %s",
                (self.topic,),
            ).fetchall()
        )
        self._consumer.assign(
            [TopicPartition(self.topic, p, stored.get(p, 0)) for p in partitions.partitions]
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._consumer.close()
        self._conn.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            messages = self._consumer.consume(BATCH, 0.2)
            batch = [m for m in messages if m.error() is None]
            for m in messages:
                if m.error() is not None:
                    log.warning("reading %s: %s", self.topic, m.error())
            if batch:
                try:
                    self.write(batch)
                except psycopg.Error:
                    log.exception("outcomes not written; reading again from the stored position")
                    self._rewind()

    def _rewind(self) -> None:
        for p, offset in self._conn.execute(
            "SELECT kafka_partition, next_offset FROM outcome_positions WHERE topic = %s",
            (self.topic,),
        ).fetchall():
            self._consumer.seek(TopicPartition(self.topic, p, offset))

    def write(self, messages: list[Message]) -> None:
        """Store ``messages`` past each partition's stored position, and the new positions."""
        by_partition: dict[int, list[Message]] = defaultdict(list)
        for m in messages:
            by_partition[where(m)[1]].append(m)
        with self._conn.transaction():
            for partition, records in sorted(by_partition.items()):
                self._conn.execute(
                    "INSERT INTO outcome_positions VALUES (%s, %s, 0) ON CONFLICT DO NOTHING",
                    (self.topic, partition),
                )
                row = self._conn.execute(
                    "SELECT next_offset FROM outcome_positions WHERE topic = %s"
                    " AND kafka_partition = %s FOR UPDATE",
                    (self.topic, partition),
                ).fetchone()
                start = row[0] if row else 0
                fresh = [m for m in records if where(m)[2] >= start]
                if not fresh:
                    continue
                rows = [r for r in map(self._row, fresh) if r is not None]
                with self._conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO outcomes VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                        " %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        rows,
                    )
                self._conn.execute(
                    "UPDATE outcome_positions SET next_offset = %s WHERE topic = %s"
                    " AND kafka_partition = %s",
                    (where(fresh[-1])[2] + 1, self.topic, partition),
                )

    def _row(self, m: Message) -> tuple[Any, ...] | None:
        _, partition, offset = where(m)
        try:
            o = self.codec.decode(m.value() or b"", *where(m))
        except DecodeError as exc:
            self.skipped += 1
            log.error("skipped an outcome that does not decode: %s", exc)
            return None
        if not isinstance(o, SubmissionOutcome):
            self.skipped += 1
            log.error("skipped a %s on %s: not a SubmissionOutcome", o.event_type, self.topic)
            return None
        return (
            partition,
            offset,
            o.submission_source_system,
            o.submission_event_id,
            o.submission_type,
            o.submission_key,
            o.submission_stream,
            str(o.status),
            None if o.first_status is None else str(o.first_status),
            o.sequence,
            o.code,
            o.message,
            o.inbox_topic,
            o.inbox_partition,
            o.inbox_offset,
        )


def outcome_view(row: dict[str, Any]) -> dict[str, Any]:
    """An outcome as the API shows it."""
    return {
        "cursor": row["kafka_offset"],
        "event_id": row["submission_event_id"],
        "event_type": row["submission_type"],
        "key": row["submission_key"],
        "stream": row["submission_stream"],
        "status": row["status"],
        "first_status": row["first_status"],
        "sequence": row["sequence"],
        "code": row["code"],
        "message": row["message"],
    }


async def page(
    conn: psycopg.AsyncConnection[Any], system: str, after: int, limit: int
) -> list[dict[str, Any]]:
    """``system``'s outcomes after the cursor ``after``, oldest first, at most ``limit``."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT * FROM outcomes WHERE system = %s AND kafka_offset > %s"
            " ORDER BY kafka_offset LIMIT %s",
            (system, after, limit),
        )
        return [outcome_view(r) for r in await cur.fetchall()]
