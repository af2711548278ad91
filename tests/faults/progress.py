"""Whether each platform process is working: the signals a recovery is timed by.

workflow: a transaction committed, outcomes and all (its group's committed inbox offsets
grow: they are written in the transaction, so an aborted one moves nothing);
projector: a batch committed to PostgreSQL (its checkpoints' offsets grow);
gateway and dashboard: a 200 from a route that reads PostgreSQL.
A probe that cannot reach the broker or PostgreSQL answers None: not known, not working.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import psycopg
from confluent_kafka import Consumer, KafkaException, TopicPartition

from events.kafka_access import kafka_config
from events.topics import INBOX, REFERENCE_INBOX
from infra.settings import ConnectionSettings
from infra.topics import STREAM_PARTITIONS
from projections.versions import active_schema

WORKFLOW_GROUP = "fengqiao-workflow"  # FQ_WORKFLOW_APP_ID's default: the suite's stack is its own
PROCESSES = ("workflow", "projector", "gateway", "dashboard")
PROBE_S = 0.25


class Progress:
    """Probes of the four processes on the suite's stack."""

    def __init__(
        self, connection: ConnectionSettings, gateway_url: str, key: str, dashboard_url: str,
        projection: str = "city",
    ) -> None:  # fmt: skip
        self.dsn = connection.pg_dsn.get_secret_value()
        self.projection = projection
        self.gateway_url = gateway_url
        self.key = key
        self.dashboard_url = dashboard_url
        # Only asks the group coordinator for the group's offsets: it never joins the group.
        self._consumer = Consumer(
            kafka_config(
                connection.kafka_bootstrap,
                **{"group.id": WORKFLOW_GROUP, "enable.auto.commit": False, "log_level": 0},
            )
        )
        self._inboxes = inbox_partitions()

    def decided(self) -> int | None:
        """Inbox records the workflow has committed its answers to (its group's offsets)."""
        try:
            found = self._consumer.committed(self._inboxes, timeout=3)
        except KafkaException:
            return None
        return sum(max(tp.offset, 0) for tp in found)

    def projected(self) -> int | None:
        """Records the live projection has committed (the sum of its checkpoints)."""
        try:
            with psycopg.connect(self.dsn, connect_timeout=2) as conn:
                schema = active_schema(conn, self.projection)
                if schema is None:
                    return None
                row = conn.execute(
                    f'SELECT coalesce(sum(next_offset), 0) FROM "{schema}".checkpoints'
                ).fetchone()
                return int(row[0]) if row else 0
        except psycopg.Error:
            return None

    def gateway(self) -> bool:
        return _ok(
            f"{self.gateway_url}/v1/outcomes",
            params={"after": "-1", "limit": "1"},
            headers={"X-Api-Key": self.key},
        )

    def dashboard(self) -> bool:
        return _ok(f"{self.dashboard_url}/api/v1/freshness")

    def close(self) -> None:
        self._consumer.close()

    def working_after(self, names: tuple[str, ...], bound_s: float) -> dict[str, float | None]:
        """Seconds from now until each named process shows it works (None: not within
        ``bound_s``). A counter's first reading now is its baseline: it must grow past it."""
        began = time.monotonic()
        checks: dict[str, Callable[[], bool]] = {}
        for name in names:
            if name in ("workflow", "projector"):
                checks[name] = _grows(self.decided if name == "workflow" else self.projected)
            else:
                checks[name] = self.gateway if name == "gateway" else self.dashboard
        found: dict[str, float | None] = dict.fromkeys(names)
        while time.monotonic() - began < bound_s:
            for name, check in checks.items():
                if found[name] is None and check():
                    found[name] = round(time.monotonic() - began, 2)
            if all(v is not None for v in found.values()):
                break
            time.sleep(PROBE_S)
        return found


@dataclass
class _Baseline:
    value: int | None = None


def _grows(read: Callable[[], int | None]) -> Callable[[], bool]:
    """A check that holds once ``read`` answers more than its first answer."""
    baseline = _Baseline()

    def check() -> bool:
        now = read()
        if now is None:
            return False
        if baseline.value is None:
            baseline.value = now
            return False
        return now > baseline.value

    return check


def inbox_partitions() -> list[TopicPartition]:
    """Every partition of the three inboxes (the reference inbox has one)."""
    return [
        TopicPartition(topic, p)
        for topic in INBOX.values()
        for p in range(1 if topic == REFERENCE_INBOX else STREAM_PARTITIONS)
    ]


def _ok(url: str, **kw: object) -> bool:
    try:
        return httpx.get(url, timeout=2, **kw).status_code == 200  # type: ignore[arg-type]
    except httpx.HTTPError:
        return False
