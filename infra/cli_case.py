"""``fengqiao case history CASE_ID``: one case's canonical log as a readable timeline."""

from __future__ import annotations

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
from infra.settings import ConnectionSettings
from infra.topics import TOPICS_BY_NAME

app = typer.Typer(help="Look at one case.", no_args_is_help=True)
console = Console()
_ENVELOPE_AND_KEY = {"envelope", "case_id"}


def case_events(
    settings: ConnectionSettings, case_id: str, topic: str = CASE_EVENTS
) -> list[Event]:
    """Every canonical event of ``case_id``, in log order, deduplicated by sequence.

    Reads only the case's partition (murmur2 of the case id), up to its current end.
    """
    codec = AvroCodec(SchemaRegistry(settings.registry_url))
    consumer = reader(settings.kafka_bootstrap, "history")
    partition = partition_for(case_id, TOPICS_BY_NAME[topic].partitions)
    try:
        try:
            _, end = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        except KafkaException as exc:
            raise BrokerUnavailable(f"{topic}[{partition}]: {exc.args[0].str()}") from exc
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        by_sequence: dict[int, Event] = {}
        position = 0
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
    which system (全程留痕). Environment: FQ_KAFKA_BOOTSTRAP, FQ_REGISTRY_URL."""
    events = case_events(ConnectionSettings(), case_id)
    if not events:
        err_console.print(f"[red]error:[/] no events for case {case_id!r} in {CASE_EVENTS}")
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
