"""How far the projection is and whether it is behind: one thread for the whole app reads the
projector's checkpoints and the canonical logs' ends every ``FQ_DASHBOARD_WATCH_S``, so pages
are told of new data (Server-Sent Events) instead of each panel polling.

The projection's position is the sum of its checkpoints' next offsets: it only grows while one
schema serves, and a reconnecting page that sends it back (``Last-Event-ID``) is told at once
whether it missed something. Stale means the projector has not reached the ends the logs had
``stale_after_s`` seconds ago: a quiet log is never stale, a busy one that is being kept up with
is never stale, a stopped or lagging projector is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import psycopg
from confluent_kafka import Consumer, KafkaException

from events.kafka_access import kafka_config
from events.topics import CASE_EVENTS, VISIT_EVENTS
from projections.log_ends import ends_of

__all__ = ["Position", "Watch"]

log = logging.getLogger("fengqiao.dashboard")
# A watch that cannot read the logs' ends says so and asks again at its next turn, rather
# than retrying: its position is stale meanwhile.
_ENDS_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Position:
    """What every panel's freshness line says."""

    position: int = 0  # sum of the projection's checkpoint offsets
    complete_to: datetime | None = None
    behind: int | None = None  # records of the canonical logs not yet projected; None: unknown
    stale: bool = False
    schema: str | None = None
    error: str | None = None  # why the position could not be read, when it could not


def stale(
    checkpoints: dict[tuple[str, int], int],
    past_ends: deque[tuple[float, dict[tuple[str, int], int]]],
    now: float,
    after_s: float,
) -> bool:
    """Whether the checkpoints are short of the ends seen ``after_s`` ago (or earlier)."""
    old = [ends for seen, ends in past_ends if now - seen >= after_s]
    if not old:
        return False
    return any(checkpoints.get(tp, 0) < end for tp, end in old[-1].items())


class Watch:
    """Reads the position in a background thread; ``current`` is the latest reading and
    the SSE streams compare it with what they last sent."""

    def __init__(
        self,
        dsn: str,
        projection: str,
        bootstrap: str,
        topic_prefix: str,
        interval_s: float,
        stale_after_s: float,
    ) -> None:
        self._dsn, self._projection = dsn, projection
        self._topics = [f"{topic_prefix}{t}" for t in (CASE_EVENTS, VISIT_EVENTS)]
        self._bootstrap = bootstrap
        self._interval_s, self._stale_after_s = interval_s, stale_after_s
        self._ends: deque[tuple[float, dict[tuple[str, int], int]]] = deque(maxlen=600)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.current = Position()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dashboard-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        consumer: Consumer | None = None
        conn: psycopg.Connection[Any] | None = None
        while not self._stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self._dsn, autocommit=True)
                if consumer is None:
                    consumer = Consumer(
                        kafka_config(
                            self._bootstrap,
                            **{"group.id": "fq-dashboard-watch", "enable.auto.commit": False},
                        )
                    )
                self._publish(self._read(conn, consumer))
            except (psycopg.Error, KafkaException) as exc:
                log.warning("cannot read the projection's position: %s", exc)
                self._publish(replace(self.current, error=str(exc).strip()[:200], stale=True))
                if conn is not None and conn.broken:
                    conn = None
            self._stop.wait(self._interval_s)
        if consumer is not None:
            consumer.close()
        if conn is not None:
            conn.close()

    def _publish(self, position: Position) -> None:
        self.current = position  # one reference swap: readers see the old or the new

    def _read(self, conn: psycopg.Connection[Any], consumer: Consumer) -> Position:
        row = conn.execute(
            "SELECT schema_name FROM fq_meta.active_projection WHERE projection = %s",
            (self._projection,),
        ).fetchone()
        if row is None:
            return Position(error=f"projection {self._projection} has no active schema yet")
        schema = row[0]
        rows = conn.execute(
            f"SELECT topic, partition, next_offset, max_event_time, caught_up "
            f'FROM "{schema}".checkpoints'
        ).fetchall()
        checkpoints = {(t, p): o for t, p, o, _, _ in rows if t in self._topics}
        behind_times = [m for t, _, _, m, c in rows if t in self._topics and not c and m]
        latest = [m for t, _, _, m, _ in rows if t in self._topics and m]
        complete_to = min(behind_times) if behind_times else (max(latest) if latest else None)
        ends = ends_of(consumer, self._topics, _ENDS_TIMEOUT_S, attempts=1, skip_missing=True)
        now = time.monotonic()
        self._ends.append((now, ends))
        behind = sum(max(0, end - checkpoints.get(tp, 0)) for tp, end in ends.items())
        return Position(
            position=sum(checkpoints.values()),
            complete_to=complete_to,
            behind=behind,
            stale=stale(checkpoints, self._ends, now, self._stale_after_s),
            schema=schema,
        )
