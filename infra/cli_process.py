"""``fengqiao process``: run a worker of the workflow processor (the faust app)."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import sys

import typer

from events.kafka_access import acting_as
from infra.cli import reports_errors
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import ensure_topics
from infra.topics import TOPICS, TopicSpec


def register(app: typer.Typer) -> None:
    """Mount ``process`` on the ``fengqiao`` command."""
    app.command("process", help=_reflowed(process.__doc__ or ""))(process)


def _reflowed(doc: str) -> str:
    """A docstring with each paragraph on one line, for the terminal to wrap."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


@reports_errors
@acting_as("workflow")
def process() -> None:
    """Run a workflow worker until SIGTERM or Ctrl-C; it logs to stderr.

    The worker decides every submission on the inbox topics against the case state machine
    and the reference data, appends what it accepts to the canonical topics and refuses the
    rest on fq.rejections, with exactly-once Kafka transactions; poison records go to
    <inbox>.dlq. Its deadline trigger submits the SLA warnings and breaches that fall due.
    Start as many workers as there are partitions to share; each takes a part of them.

    Before starting it creates the declared topics that are missing, and the changelog topics
    of its tables (<app id>-<table>-changelog), and checks the others (partitions and configs
    as declared; a mismatch is an error).

    Stops cleanly on SIGTERM: the open transactions are committed (or aborted when the next
    worker takes their partitions, if the process dies), so nothing is lost or written twice
    either way.

    Environment: FQ_KAFKA_BOOTSTRAP (127.0.0.1:19092), FQ_REGISTRY_URL
    (http://127.0.0.1:18081/apis/ccompat/v7), FQ_WORKFLOW_APP_ID (fengqiao-workflow: consumer
    group, changelog topics and transactional ids), FQ_TOPIC_PREFIX (empty; prepended to every
    topic name, for tests), FQ_TRIGGER_INTERVAL_S (60; 0 turns the deadline trigger off),
    FQ_COMMIT_INTERVAL_S (1.0: how often transactions commit), FQ_SESSION_TIMEOUT_S (30: when
    a silent worker's partitions go to the others), FQ_GROUP_INSTANCE_ID (none: a name kept
    across restarts, with which a restarted worker takes its place at once), FQ_PRODUCER_LINGER_MS (50),
    FQ_PRODUCER_BATCH_BYTES (262144), FQ_STREAM_BUFFER (4096), FQ_COMMIT_STALL_S (60: decided
    records left uncommitted that long end the worker, for its supervisor to restart),
    FQ_REPLICATION_FACTOR (1),
    FQ_WEB_PORT (0: no web view), FQ_WORKFLOW_DATA_DIR (faust's files; a temporary directory),
    FQ_LOG_LEVEL (info).
    """
    from processors.app import create_app, run_worker
    from processors.settings import WorkflowSettings

    settings = WorkflowSettings()
    connection = ConnectionSettings(
        kafka_bootstrap=settings.kafka_bootstrap,
        registry_url=settings.registry_url,
        replication_factor=settings.replication_factor,
    )
    specs = [*prefixed(settings.topic_prefix), *changelogs(settings.workflow_app_id)]
    created = ensure_topics(connection.kafka_bootstrap, connection, specs)
    logging.basicConfig(
        stream=sys.stderr,
        level=settings.log_level.upper(),
        format="[%(asctime)s] %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per registry lookup
    if created:
        logging.getLogger("fengqiao.process").info("created topics: %s", ", ".join(created))
    settings.data_dir().parent.mkdir(parents=True, exist_ok=True)  # faust makes only the last
    app = create_app(settings)
    run_worker(app.faust, settings.log_level)


def changelogs(app_id: str) -> list[TopicSpec]:
    """The changelog topics of the workflow's tables for app ``app_id``: compacted (a key's
    last value is its state), one partition per partition of the inbox they go with."""
    from processors.app import STREAM_PARTITIONS, TABLES
    from processors.changelog import changelog_topic

    return [
        TopicSpec(changelog_topic(app_id, name), STREAM_PARTITIONS, {"cleanup.policy": "compact"})
        for name in TABLES
    ]


def prefixed(prefix: str) -> list[TopicSpec]:
    """The declared topics under ``prefix``: same partitions and configs, prefixed names."""
    return [dataclasses.replace(spec, name=f"{prefix}{spec.name}") for spec in TOPICS]
