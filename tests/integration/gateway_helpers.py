"""A gateway test's world: topics under a prefix of its own, a PostgreSQL schema of its own,
keys made in it, and ``fengqiao gateway`` served from it as a real process on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from confluent_kafka import Producer
from psycopg import sql

from bench.common import free_port, stop_process
from events.codec import AvroCodec
from events.errors import DecodeError
from events.gateway.credentials import CredentialStore
from events.gateway.database import ensure_schema
from events.kafka_access import kafka_config
from events.kafka_io import Deliveries, produce
from events.models import Envelope, Event, OutcomeStatus, SubmissionOutcome
from events.registry import SchemaRegistry
from events.topics import INBOX, OUTCOMES
from infra.cli_process import prefixed
from infra.settings import ConnectionSettings
from infra.stack.acl_admin import grant_deployment
from infra.stack.topics_admin import admin_client, ensure_topics
from tests.factories import example_data
from tests.integration.helpers import delete_prefixed_topics, read_topic
from tests.integration.projection_helpers import wait_until_answering

__all__ = [
    "GatewayWorld",
    "Served",
    "as_submission",
    "gateway_world",
    "gateway_world_fixture",
    "get",
    "key_fixture",
    "outcome",
    "post",
    "served_fixture",
    "submission",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    """One running gateway process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        stop_process(self.process)  # type: ignore[arg-type]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


@dataclass
class GatewayWorld:
    """Topics and a schema of one test module's own, and the gateways served over them."""

    connection: ConnectionSettings
    name: str
    workdir: Path
    served: list[Served] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.prefix = f"{self.name}."
        self.schema = self.name
        self.dsn = self.connection.pg_dsn.get_secret_value()
        ensure_topics(
            admin_client(self.connection.kafka_bootstrap), self.connection, prefixed(self.prefix)
        )
        grant_deployment(self.connection.kafka_bootstrap, self.prefix)
        ensure_schema(self.dsn, self.schema)
        self.codec = AvroCodec(SchemaRegistry(self.connection.registry_url), auto_register=True)

    def topic(self, logical: str) -> str:
        return self.prefix + logical

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "FQ_KAFKA_BOOTSTRAP": self.connection.kafka_bootstrap,
            "FQ_REGISTRY_URL": self.connection.registry_url,
            "FQ_PG_DSN": self.dsn,
            "FQ_TOPIC_PREFIX": self.prefix,
            "FQ_GATEWAY_SCHEMA": self.schema,
            "FQ_AUTO_REGISTER": "true",
            "FQ_GATEWAY_AUTH_CACHE_S": "0",
            "FQ_GATEWAY_POLL_S": "0.05",
            **extra,
        }

    def serve(self, port: int | None = None, **env: str) -> Served:
        """Start ``fengqiao gateway``; returns once it answers."""
        port = port or free_port()
        log = self.workdir / f"gateway-{len(self.served) + 1}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "infra.cli", "gateway"],
                env=self.env(FQ_GATEWAY_PORT=str(port), **env),
                cwd=PROJECT_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        served = Served(f"http://127.0.0.1:{port}", process, log)
        self.served.append(served)
        wait_until_answering(
            process, f"{served.url}/openapi.json", "the gateway", 90, log.read_text
        )
        return served

    def key(
        self,
        system: str,
        events: Iterable[str] = ("*",),
        departments: Iterable[str] = ("*",),
        districts: Iterable[str] = ("*",),
    ) -> tuple[str, str]:
        """A new key of ``system``: (key id, key)."""
        with self.conn() as conn:
            issued = CredentialStore(conn).create(
                system, list(events), list(departments), list(districts)
            )
        return issued.key_id, issued.key

    def conn(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.dsn, autocommit=True, options=f"-c search_path={self.schema}")

    def inbox_events(self) -> list[Event]:
        """Every record on the world's inbox topics, decoded (a record that does not decode
        fails the test: nothing invalid may reach Kafka)."""
        found: list[Event] = []
        for logical in INBOX.values():
            for record in read_topic(self.connection.kafka_bootstrap, self.topic(logical)):
                try:
                    found.append(
                        self.codec.decode(
                            record.value, record.topic, record.partition, record.offset
                        )
                    )
                except DecodeError as exc:
                    pytest.fail(f"an undecodable record on {record.topic}: {exc}")
        return found

    def write_outcomes(self, outcomes: Iterable[SubmissionOutcome]) -> None:
        """Put outcomes on the world's ``fq.outcomes``, as the workflow would."""
        self.write(OUTCOMES, outcomes)

    def write(self, logical: str, events: Iterable[Event]) -> None:
        """Put events on the world's ``logical`` topic, keyed as the log is."""
        producer = Producer(
            {
                **kafka_config(self.connection.kafka_bootstrap),
                "enable.idempotence": True,
                "partitioner": "murmur2_random",
            }
        )
        deliveries = Deliveries()
        for e in events:
            produce(
                producer,
                self.topic(logical),
                self.codec.encode(logical, e),
                e.key().encode(),
                deliveries,
            )
        deliveries.flush(producer, 30, logical)

    def cleanup(self) -> None:
        for served in self.served:
            if served.process.poll() is None:
                served.stop()
        self.codec.registry.close()
        delete_prefixed_topics(self.connection.kafka_bootstrap, self.prefix)
        with psycopg.connect(self.dsn, autocommit=True) as c:
            c.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
            )


def gateway_world(request: pytest.FixtureRequest) -> Iterator[GatewayWorld]:
    """A world named for the test module; removed when the generator closes."""
    connection = request.getfixturevalue("connection_settings")
    workdir = request.getfixturevalue("tmp_path_factory").mktemp("gateway")
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:20]
    world = GatewayWorld(connection, f"gw_{module}_{free_port()}", workdir)
    try:
        yield world
    finally:
        world.cleanup()


@pytest.fixture(name="world", scope="module")
def gateway_world_fixture(request: pytest.FixtureRequest) -> Iterator[GatewayWorld]:
    """The test module's gateway world (``gateway_world``)."""
    yield from gateway_world(request)


@pytest.fixture(name="key", scope="module")
def key_fixture(request: pytest.FixtureRequest, world: GatewayWorld) -> str:
    """A key of the test module's ``SYSTEM``, for every event, department and district."""
    system: str = request.module.SYSTEM
    return world.key(system)[1]


@pytest.fixture(name="served", scope="module")
def served_fixture(world: GatewayWorld) -> Served:
    """One ``fengqiao gateway`` served over the module's world, for all its tests."""
    return world.serve()


def as_submission(event: Event) -> dict[str, Any]:
    """``event`` as a system posts it: JSON, named by its type, without the stamped fields."""
    data = event.model_dump(mode="json")
    for name in ("source_system", "recorded_time"):
        data["envelope"].pop(name)
    return {"event_type": event.event_type, **data}


def submission(event_type: str = "CaseReported", **overrides: Any) -> dict[str, Any]:
    """A JSON body of ``event_type``: the example event without the fields the gateway stamps."""
    data = example_data(event_type, **overrides)
    envelope = {
        k: v for k, v in data["envelope"].items() if k not in ("source_system", "recorded_time")
    }
    body: dict[str, Any] = httpx_json({"event_type": event_type, **data, "envelope": envelope})
    return body


def httpx_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: httpx_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [httpx_json(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def post(served: Served, key: str, path: str, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{served.url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {key}", **headers},
        timeout=30,
    )


def get(served: Served, key: str, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{served.url}{path}", params=params, headers={"X-Api-Key": key}, timeout=30)


def outcome(
    event_id: str, system: str, status: OutcomeStatus, n: int, **fields: Any
) -> SubmissionOutcome:
    now = datetime.now(UTC)
    return SubmissionOutcome(
        envelope=Envelope(
            event_id=f"outcome-{uuid.uuid4()}",
            event_time=now,
            recorded_time=now,
            source_system="fengqiao.workflow",
            actor={"id": "fengqiao.workflow", "role": "system"},  # type: ignore[arg-type]
            causation_id=event_id,
        ),
        submission_event_id=event_id,
        submission_type="CaseReported",
        submission_key="case-2025-000123",
        submission_source_system=system,
        submission_stream="case",
        status=status,
        inbox_topic="fq.case.inbox",
        inbox_partition=0,
        inbox_offset=n,
        **fields,
    )
