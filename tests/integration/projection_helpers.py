"""A projection test's own world: canonical topics under a unique prefix, filled from the
pure workflow core; its own projection name and schemas; checksums of every read model."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from confluent_kafka.admin import AdminClient
from psycopg import sql

from bench.canonical_log import write_canonical_log
from domain.case_state import CaseState, evolve
from domain.decisions import Rejected
from domain.reference_view import ReferenceView
from domain.state_machine import decide
from events.codec import AvroCodec
from events.kafka_access import kafka_config
from events.models import CaseReported, Event, VisitRecorded
from events.registry import SchemaRegistry
from infra.cli_process import prefixed
from infra.settings import ConnectionSettings
from infra.stack.acl_admin import grant_deployment
from infra.stack.topics_admin import ensure_topics
from processors.outputs import rejection
from projections.log_ends import end_offsets
from projections.projector import Projector
from projections.replay import replay
from projections.settings import ProjectorSettings
from projections.store import connect, create_schema
from projections.tables import READ_MODELS
from projections.versions import live_schema
from tests.integration.helpers import delete_prefixed_topics

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ProjectionWorld:
    connection: ConnectionSettings
    name: str
    codec: AvroCodec = field(init=False)
    schemas: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.codec = AvroCodec(SchemaRegistry(self.connection.registry_url))
        admin = AdminClient({**kafka_config(self.connection.kafka_bootstrap)})
        ensure_topics(admin, self.connection, prefixed(self.prefix))
        grant_deployment(self.connection.kafka_bootstrap, self.prefix)

    @property
    def prefix(self) -> str:
        return f"{self.name}."

    @property
    def settings(self) -> ProjectorSettings:
        return ProjectorSettings(
            kafka_bootstrap=self.connection.kafka_bootstrap,
            registry_url=self.connection.registry_url,
            pg_dsn=self.connection.pg_dsn,
            topic_prefix=self.prefix,
            projection=f"{self.name[:22]}_{self.name[-8:]}",  # unique: the uuid is at the end
            projector_batch=500,
            projector_max_wait_s=0.2,
        )

    def write(self, events: Iterable[tuple[str, Event]]) -> dict[str, int]:
        return write_canonical_log(
            self.connection.kafka_bootstrap, self.codec, iter(events), self.prefix
        )

    def conn(self) -> psycopg.Connection[Any]:
        return connect(self.connection.pg_dsn.get_secret_value())

    def new_schema(self, label: str) -> str:
        schema = f"{self.name}_{label}"[:60]
        with self.conn() as c:
            create_schema(c, schema)
        self.schemas.append(schema)
        return schema

    def live_schema(self) -> str:
        """The projection's own live schema (the one ``fengqiao project`` writes), made now
        if need be and dropped with the world."""
        with self.conn() as c:
            schema = live_schema(c, self.settings.projection)
        self.schemas.append(schema)
        return schema

    def project(self, schema: str, **kw: Any) -> Projector:
        """Project everything written so far into ``schema``, in this process."""
        projector = Projector(
            self.settings, schema, self.codec, stop_at=end_offsets(self.settings), **kw
        )
        projector.run()
        return projector

    def env(self, **extra: str) -> dict[str, str]:
        s = self.settings
        return {
            **os.environ,
            "FQ_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
            "FQ_REGISTRY_URL": s.registry_url,
            "FQ_PG_DSN": s.pg_dsn.get_secret_value(),
            "FQ_TOPIC_PREFIX": s.topic_prefix,
            "FQ_PROJECTION": s.projection,
            **extra,
        }

    def fengqiao(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "infra.cli", *args],
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=600,
            cwd=PROJECT_ROOT,
            check=False,  # the tests assert on the exit code and the output
        )

    def cleanup(self) -> None:
        self.codec.registry.close()
        delete_prefixed_topics(self.connection.kafka_bootstrap, self.prefix)
        projection = self.settings.projection
        with self.conn() as c:
            names = list(self.schemas)
            if _has_meta(c):
                c.execute(
                    "DELETE FROM fq_meta.active_projection WHERE projection = %s", (projection,)
                )
                rows = c.execute(
                    "DELETE FROM fq_meta.projection_schemas WHERE projection = %s "
                    "RETURNING schema_name",
                    (projection,),
                ).fetchall()
                names += [r[0] for r in rows]
            for schema in names:
                c.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )


def refusals(events: Iterable[tuple[str, Event]], cases: int) -> list[tuple[str, Event]]:
    """Refused submissions for a canonical log, as the workflow writes them: for each of the
    first ``cases`` cases, its report sent again under a new event id, decided by the pure
    rules (``CASE_EXISTS``), the refusal written twice (as after a crash); and one visit
    refused (no case: keyed by its grid)."""
    view = ReferenceView()
    states: dict[str, CaseState] = {}
    reports: list[CaseReported] = []
    visits: list[VisitRecorded] = []
    for stream, event in events:
        if stream == "reference":
            view.extend([event])
        elif isinstance(event, CaseReported | VisitRecorded):
            (reports if isinstance(event, CaseReported) else visits).append(event)  # type: ignore[arg-type]
        if stream == "case":
            case_id = event.case_id  # type: ignore[attr-defined]
            states[case_id] = evolve(states.get(case_id), event)  # type: ignore[arg-type]
    out: list[tuple[str, Event]] = []
    for report in reports[:cases]:
        again = report.model_copy(
            update={
                "envelope": report.envelope.model_copy(
                    update={"event_id": f"again-{report.case_id}"[:64], "sequence": None}
                )
            }
        )
        decided = decide(states[report.case_id], again, view)
        assert isinstance(decided, Rejected), decided
        refused = rejection(again, str(decided.code), decided.message)
        out += [("rejection", refused), ("rejection", refused)]
    out.append(("rejection", rejection(visits[0], "WORKER_NOT_ASSIGNED", "not this grid's")))
    return out


def _has_meta(c: psycopg.Connection[Any]) -> bool:
    return c.execute("SELECT to_regclass('fq_meta.projection_schemas') IS NOT NULL").fetchone()[0]  # type: ignore[index]


# beside the read models: the places with their boundaries, and the units' version
_REFERENCE_TABLES = {"places": ("code", "effective_from"), "units_version": ("one",)}


def checksums(conn: psycopg.Connection[Any], schema: str) -> dict[str, tuple[int, str]]:
    """Row count and md5 of every read-model table and the places, rows in primary-key order."""
    out = {}
    keys = {**{t.name: t.key for t in READ_MODELS.values()}, **_REFERENCE_TABLES}
    for name, key in keys.items():
        order = sql.SQL(", ").join(sql.Identifier("t", k) for k in key)
        query = sql.SQL(
            "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY {})), '') FROM {}.{} t"
        ).format(order, sql.Identifier(schema), sql.Identifier(name))
        count, digest = conn.execute(query).fetchone()  # type: ignore[misc]
        out[name] = (count, digest)
    conn.commit()
    return out


def assert_replay_is_live(world: ProjectionWorld, live: str) -> None:
    """Replaying the world's log into a new schema gives the live schema's rows, table by
    table."""
    replayed = world.new_schema("replayed")
    assert replay(world.settings, replayed, workers=2) > 0
    with world.conn() as conn:
        assert checksums(conn, replayed) == checksums(conn, live)


def wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def wait_until_answering(
    process: subprocess.Popen[Any], url: str, what: str, timeout_s: float, output: Callable[[], str]
) -> None:
    """Wait until ``url`` answers 200; fail with the process's ``output()`` if it exits
    first."""

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode}:\n{output()}")
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(answers, timeout_s, f"{what} to answer")
