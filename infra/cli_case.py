"""``fengqiao case history CASE_ID``: one case's canonical log as a readable timeline."""

from __future__ import annotations

import psycopg
import typer
from confluent_kafka import OFFSET_BEGINNING, KafkaException, TopicPartition
from rich.console import Console
from rich.table import Table

from events.codec import AvroCodec
from events.errors import BrokerUnavailable
from events.kafka_io import reader, where
from events.models import Event
from events.partitioning import partition_for
from events.registry import SchemaRegistry
from events.topics import CASE_EVENTS
from infra.cli import err_console, reports_errors
from infra.topics import TOPICS_BY_NAME
from projections.settings import ProjectorSettings

app = typer.Typer(help="Look at one case.", no_args_is_help=True)
console = Console()
_ENVELOPE_AND_KEY = {"envelope", "case_id"}


def first_offset(settings: ProjectorSettings, case_id: str) -> int | None:
    """The offset of the case's first record in its partition of the case log, as the
    active projection recorded it; ``None`` when the projection does not know the case (or
    cannot be read), and the partition is read from its beginning."""
    from projections.errors import ProjectionError
    from projections.queries import case_trace
    from projections.store import connect

    try:
        with connect(settings.pg_dsn.get_secret_value()) as conn:
            rows = case_trace(conn, settings.projection, case_id).rows
    except (psycopg.Error, ProjectionError) as exc:
        err_console.print(f"[yellow]note:[/] no projection to start from ({exc}); reading from 0")
        return None
    offsets = [r["log_offset"] for r in rows if r["log_offset"] >= 0]
    return min(offsets) if offsets else None


def case_events(settings: ProjectorSettings, case_id: str) -> list[Event]:
    """Every canonical event of ``case_id``, in log order, deduplicated by sequence.

    Reads only the case's partition (murmur2 of the case id) of the case log under the
    settings' topic prefix, from the case's first record as the projection knows it (the
    partition's beginning when it does not), up to the partition's current end.
    """
    topic = settings.topic(CASE_EVENTS)
    codec = AvroCodec(SchemaRegistry(settings.registry_url))
    consumer = reader(settings.kafka_bootstrap, "history")
    partition = partition_for(case_id, TOPICS_BY_NAME[CASE_EVENTS].partitions)
    start = first_offset(settings, case_id)
    try:
        try:
            _, end = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        except KafkaException as exc:
            raise BrokerUnavailable(f"{topic}[{partition}]: {exc.args[0].str()}") from exc
        begin = OFFSET_BEGINNING if start is None else start
        consumer.assign([TopicPartition(topic, partition, begin)])
        by_sequence: dict[int, Event] = {}
        position = -1
        while position < end - 1:
            msg = consumer.poll(10)
            if msg is None:
                break
            if msg.error() is not None:
                continue
            position = where(msg)[2]
            if msg.key() != case_id.encode():
                continue
            event = codec.decode(msg.value() or b"", topic, partition, position)
            by_sequence.setdefault(event.envelope.sequence or 0, event)  # re-sends are equal
    finally:
        consumer.close()
        codec.registry.close()
    return [by_sequence[s] for s in sorted(by_sequence)]


@app.command()
@reports_errors
def history(case_id: str = typer.Argument(..., help="the case id")) -> None:
    """Print every event of one case: sequence, event and recording time, what, who, from
    which system (全程留痕). Reads the case's partition of the case log from the case's first
    record, as the active projection knows it. Environment: FQ_KAFKA_BOOTSTRAP,
    FQ_REGISTRY_URL, FQ_TOPIC_PREFIX, FQ_PG_DSN, FQ_PROJECTION."""
    settings = ProjectorSettings()
    events = case_events(settings, case_id)
    if not events:
        topic = settings.topic(CASE_EVENTS)
        err_console.print(f"[red]error:[/] no events for case {case_id!r} in {topic}")
        raise typer.Exit(1)
    table = Table(
        "seq",
        "event time",
        "recorded",
        "event",
        "actor",
        "source",
        "details",
        title=f"case {case_id}",
    )
    for event in events:
        env = event.envelope
        details = event.model_dump(mode="json", exclude=_ENVELOPE_AND_KEY, exclude_none=True)
        table.add_row(
            str(env.sequence),
            f"{env.event_time:%Y-%m-%d %H:%M}",
            f"{env.recorded_time:%m-%d %H:%M}",
            event.event_type,
            f"{env.actor.id} ({env.actor.role})",
            env.source_system,
            ", ".join(f"{k}={v}" for k, v in details.items()),
        )
    console.print(table)
