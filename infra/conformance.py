"""The conformance kit's sandbox: a workflow of its own on topics of its own, and the run of a
file of samples through it, answered as the gateway and the workflow would answer them.

A sandbox takes the prefix ``conformance.<system>.<12 hex>.``: it creates the declared topics
under it, starts ``fengqiao process`` on them (its app id is the prefix without the dot, so
its changelogs fall under it too), seeds a small fixed reference set (one district, street,
village and two grids with their workers, every department and category, the SLA policy, the
shipped calendars and lexicons: the simulator's, from ``simulate.city``), and on closing stops
the worker and deletes every topic it made.

Each sample is checked by ``events.gateway.acceptance.accept``, the code of ``POST /v1/events``,
with the system's credential (its scope) and the sandbox's place tree; a refusal is its answer.
The others are published in order and answered by the workflow. A run of samples stops at the
first one after reference data and waits for that data's outcomes, so later samples are judged
against it (by the workflow, and by the gateway's place tree for a district scope).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psycopg

from events.conformance.samples import Sample
from events.conformance.verdicts import Answer, Verdict, answer_of_outcome, answer_of_problem
from events.errors import FengqiaoError
from events.gateway.acceptance import accept
from events.gateway.credentials import Credential, CredentialStore
from events.gateway.database import ensure_schema
from events.gateway.places import PlaceReader
from events.gateway.scope import ANY, Scope
from events.gateway.settings import GatewaySettings
from events.models import MODELS, Event
from events.outcomes import Outcome, OutcomeTimeout, OutcomeWatcher
from events.problems import Problem
from events.publisher import Publisher, PublisherSettings
from events.registry import SchemaRegistry
from events.topics import OUTCOMES, REFERENCE_EVENTS
from infra.cli_process import prefixed
from infra.demo_children import Child, Children
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import (
    ADMIN_TIMEOUT_S,
    admin_client,
    delete_topics_starting,
    ensure_topics,
)
from simulate.city import CityShape, reference_events

__all__ = [
    "Report",
    "Sandbox",
    "SandboxError",
    "credential_of",
    "run_samples",
    "sandbox_reference",
    "unscoped",
]

PREFIX = "conformance"
REFERENCE_SHAPE = CityShape(districts=1, streets=1, grids=2, grids_per_village=2, name="kit")
REFERENCE_SEED = 1
COMMIT_INTERVAL_S = 0.2  # the worker's; outcomes wait for its commits
log = logging.getLogger("fengqiao.conformance")


class SandboxError(FengqiaoError):
    """The sandbox could not run the samples: its worker died, its reference data was
    refused, or outcomes did not come in time."""


def sandbox_reference() -> list[Event]:
    """The fixed reference set every sandbox starts with: district ``haishu``, street
    ``haishu-s001``, village ``haishu-s001-v01``, grids ``haishu-s001-v01-g01`` and ``-g02``
    with leaders ``l-<grid>`` and workers ``w-<grid>-<n>``, every department and category,
    the SLA policy ``standard``, the shipped calendars and lexicons, from 2025-01-01."""
    return reference_events(REFERENCE_SHAPE, REFERENCE_SEED)[1]


def credential_of(system: str, settings: GatewaySettings, now: datetime) -> Credential | None:
    """The newest valid credential of ``system`` in the gateway's store, or ``None``."""
    dsn = settings.pg_dsn.get_secret_value()
    options = f"-c search_path={settings.gateway_schema}"
    try:
        ensure_schema(dsn, settings.gateway_schema)
        with psycopg.connect(dsn, autocommit=True, options=options) as conn:
            keys = CredentialStore(conn).list(system)
    except psycopg.OperationalError as exc:
        raise SandboxError(
            f"cannot read the credentials of {system} (FQ_PG_DSN, schema "
            f"{settings.gateway_schema}): {exc}"
        ) from exc
    valid = [
        k
        for k in keys
        if k.system == system
        and k.revoked_at is None
        and (k.expires_at is None or k.expires_at > now)
    ]
    if not valid:
        return None
    newest = max(valid, key=lambda k: k.created_at)
    return Credential(newest.key_id, system, newest.kind, newest.scope)


def unscoped(system: str) -> Credential:
    """A credential that allows everything: a system with no key yet is judged on the
    contract and the workflow alone."""
    return Credential("(none)", system, "system", Scope.of([ANY], [ANY], [ANY]))


def _topic_safe(system: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", system).strip("-")[:60] or "system"


@dataclass
class Report:
    """A run's verdicts, in the file's order, and how long its parts took (seconds)."""

    verdicts: list[Verdict]
    timings: dict[str, float]
    sandbox: str  # its topics' prefix (deleted by now)

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)


class Sandbox:
    """One sandbox: topics under its own prefix, a workflow worker on them, a publisher."""

    def __init__(
        self,
        system: str,
        connection: ConnectionSettings,
        say: Callable[[str], None] = lambda _: None,
        timeout_s: float = 60.0,
    ) -> None:
        self.connection, self.say, self.timeout_s = connection, say, timeout_s
        self.app_id = f"{PREFIX}.{_topic_safe(system)}.{uuid.uuid4().hex[:12]}"
        self.prefix = f"{self.app_id}."
        self.workdir = Path(tempfile.mkdtemp(prefix="fengqiao-conformance-"))
        self.admin = admin_client(connection.kafka_bootstrap)
        self.publisher = Publisher(
            PublisherSettings(
                kafka_bootstrap=connection.kafka_bootstrap,
                registry_url=connection.registry_url,
                topic_prefix=self.prefix,
                publish_linger_ms=1,
                client_id="fengqiao-conformance",
            ),
            registry=SchemaRegistry(connection.registry_url),
        )
        self.codec = self.publisher.codec
        self.children = Children(self.workdir, dict(os.environ))
        self.worker: Child | None = None
        self.timings: dict[str, float] = {}

    def __enter__(self) -> Self:
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> None:
        """Start the worker, create the topics, seed the reference set."""
        # The worker starts first: its Python and faust take seconds, in which the topics are
        # made (by whichever of the two comes first; the other finds them as declared).
        started = time.monotonic()
        self.say("starting the workflow worker (fengqiao process)")
        self.worker = self.children.start(
            "worker",
            ["process"],
            FQ_KAFKA_BOOTSTRAP=self.connection.kafka_bootstrap,
            FQ_REGISTRY_URL=self.connection.registry_url,
            FQ_TOPIC_PREFIX=self.prefix,
            FQ_WORKFLOW_APP_ID=self.app_id,
            FQ_TRIGGER_INTERVAL_S="0",
            FQ_COMMIT_INTERVAL_S=str(COMMIT_INTERVAL_S),
            FQ_WORKFLOW_DATA_DIR=str(self.workdir / "faust"),
            FQ_LOG_LEVEL="warning",
        )
        self.say(f"creating the sandbox's topics ({self.prefix}*)")
        ensure_topics(self.admin, self.connection, prefixed(self.prefix))
        self.timings["topics"] = time.monotonic() - started
        reference = sandbox_reference()
        self.say(f"seeding the reference data ({len(reference)} events)")
        mark = time.monotonic()
        outcomes = self.submit(reference)
        refused = [o for o in outcomes.values() if not o.accepted]
        if refused:
            first = refused[0]
            raise SandboxError(
                f"the sandbox's reference data was refused: {first.code}: {first.message}"
            )
        self.timings["reference"] = time.monotonic() - mark
        self.timings["sandbox"] = time.monotonic() - started

    def submit(self, events: Sequence[Event]) -> dict[str, Outcome]:
        """Publish ``events`` in order and wait for the workflow's outcome of each."""
        systems = {event.envelope.source_system for event in events}
        watcher = OutcomeWatcher(
            self.connection.kafka_bootstrap, self.codec, systems, self.prefix + OUTCOMES
        )
        with watcher:
            result = self.publisher.publish_batch(events)
            if result.failures:
                raise result.failures[0].error
            records = {(r.topic, r.partition, r.offset): r.event_id for r in result.receipts}
            deadline = time.monotonic() + self.timeout_s
            while True:
                self.children.check()  # a worker that died is said, with its log's tail
                try:
                    found = watcher.wait(records, timeout_s=0.5)
                    return {records[record]: outcome for record, outcome in found.items()}
                except OutcomeTimeout as exc:
                    if time.monotonic() > deadline:
                        raise SandboxError(
                            f"{len(exc.missing)} sample(s) without the workflow's outcome after "
                            f"{self.timeout_s:g} s, e.g. {exc.missing[:3]}"
                        ) from exc

    def places(self) -> PlaceReader:
        """The gateway's place tree, read from the sandbox's reference log as it is now."""
        reader = PlaceReader(
            self.connection.kafka_bootstrap, self.prefix + REFERENCE_EVENTS, self.codec
        )
        reader.start()
        if not reader.ready.wait(self.timeout_s):
            reader.stop()
            raise SandboxError(f"the sandbox's place tree was not read in {self.timeout_s:g} s")
        return reader

    def close(self) -> None:
        """Stop the worker and delete every topic of the sandbox."""
        if self.worker is not None:
            self.children.stop(self.worker)
            self.worker = None
        self.publisher.close()
        self.codec.registry.close()
        # Until the broker lists none: a run that ends as it starts may delete the topics while
        # a creation of them is still under way, and a loaded broker may take longer than one
        # admin timeout to drop them all.
        ours = (self.prefix, f"{self.app_id}-")
        delete_topics_starting(self.admin, ours, until_gone=True, timeout_s=3 * ADMIN_TIMEOUT_S)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _is_reference(body: Any) -> bool:
    kind = body.get("event_type") if isinstance(body, dict) else None
    return isinstance(kind, str) and kind in MODELS and MODELS[kind].stream == "reference"


def run_samples(sandbox: Sandbox, samples: Sequence[Sample], caller: Credential) -> Report:
    """Every sample's verdict, in order: the gateway's refusal, or the workflow's outcome."""
    started = time.monotonic()
    answers: dict[int, Answer] = {}
    pending: list[tuple[int, Event]] = []
    places = sandbox.places()

    def flush() -> None:
        outcomes = sandbox.submit([event for _, event in pending])
        for index, event in pending:
            answers[index] = answer_of_outcome(outcomes[event.envelope.event_id])
        pending.clear()

    try:
        for index, sample in enumerate(samples):
            if not _is_reference(sample.body) and any(e.stream == "reference" for _, e in pending):
                flush()
                places.stop()
                places = sandbox.places()
            try:
                event = accept(caller, sample.body, datetime.now(UTC), places.district_of)
            except Problem as problem:
                answers[index] = answer_of_problem(problem.body().model_dump(exclude_none=True))
                continue
            pending.append((index, event))
        if pending:
            flush()
    finally:
        places.stop()
    timings = {**sandbox.timings, "samples": time.monotonic() - started}
    verdicts = [Verdict(s, answers[i]) for i, s in enumerate(samples)]
    return Report(verdicts, timings, sandbox.prefix)
