"""``fengqiao publish FILE`` and ``fengqiao tail TOPIC``: put events on Kafka, read them back."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import typer
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, KafkaError, TopicPartition
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from events.codec import AvroCodec
from events.errors import DecodeError
from events.kafka_io import reader, where
from events.ndjson import Line, count_lines, read_ndjson
from events.publisher import Failure, Publisher, PublisherSettings
from events.registry import SchemaRegistry
from infra.cli import err_console, reports_errors
from infra.settings import ConnectionSettings

console = Console()
CHUNK = 5000


def publish(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="NDJSON: one event per line"
    ),
) -> None:
    """Publish an NDJSON file of events to the inbox topics.

    Each line is ``{"event_type": "CaseReported", "envelope": {...}, ...fields}``. Prints a
    summary: how many were published and, for every line that was not, its reason (stderr).
    Exits 1 if any line failed. Environment: FQ_KAFKA_BOOTSTRAP, FQ_REGISTRY_URL.
    """
    published, failures = _publish_file(file)
    for line_no, reason in failures:
        err_console.print(f"[red]line {line_no}:[/] {escape(reason)}", highlight=False)
    console.print(f"published {published}, failed {len(failures)} ({escape(str(file))})")
    if failures:
        raise typer.Exit(1)


@reports_errors
def _publish_file(file: Path) -> tuple[int, list[tuple[int, str]]]:
    total = count_lines(file)
    failures: list[tuple[int, str]] = []
    published = 0
    columns = (TextColumn("publishing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with (
        Publisher(PublisherSettings()) as publisher,
        Progress(*columns, console=err_console, transient=False) as bar,
    ):
        task = bar.add_task("publish", total=total)
        lines = read_ndjson(file)
        while chunk := list(islice(lines, CHUNK)):
            good: list[Line] = []
            for line in chunk:
                if line.error is not None:
                    failures.append((line.number, f"{type(line.error).__name__}: {line.error}"))
                    bar.advance(task)
                else:
                    good.append(line)
            result = publisher.publish_batch(
                [line.event for line in good if line.event is not None],
                progress=lambda n: bar.advance(task, n),
            )
            published += len(result.receipts)
            failures.extend(_line_failure(good, failure) for failure in result.failures)
    return published, sorted(failures)


def _line_failure(lines: list[Line], failure: Failure) -> tuple[int, str]:
    return lines[failure.index].number, f"{type(failure.error).__name__}: {failure.reason}"


@reports_errors
def tail(
    topic: str = typer.Argument(..., help="topic to read, e.g. fq.case.events"),
    from_beginning: bool = typer.Option(
        False, "--from-beginning", help="start at the oldest record"
    ),
    max_records: int = typer.Option(0, "--max", help="stop after this many records (0: no limit)"),
    idle_s: float = typer.Option(
        0.0, "--idle", help="stop after this many idle seconds (0: follow)"
    ),
) -> None:
    """Print the records of TOPIC decoded, one JSON object per line.

    Records that do not decode are reported on stderr with their partition and offset, and
    counted; tail goes on. Environment: FQ_KAFKA_BOOTSTRAP, FQ_REGISTRY_URL.
    """
    settings = ConnectionSettings()
    codec = AvroCodec(SchemaRegistry(settings.registry_url))
    # tail shows what a consumer would see, transactional or not: read_uncommitted.
    consumer = reader(settings.kafka_bootstrap, "tail", **{"isolation.level": "read_uncommitted"})
    metadata = consumer.list_topics(topic, timeout=10)
    if topic not in metadata.topics or metadata.topics[topic].error is not None:
        err_console.print(f"[red]error:[/] no topic {topic!r}")
        raise typer.Exit(1)
    start = OFFSET_BEGINNING if from_beginning else OFFSET_END
    consumer.assign([TopicPartition(topic, p, start) for p in metadata.topics[topic].partitions])
    shown = bad = 0
    idle = 0.0
    try:
        while max_records == 0 or shown < max_records:
            msg = consumer.poll(0.5)
            if msg is None:
                idle += 0.5
                if idle_s and idle >= idle_s:
                    break
                continue
            idle = 0.0
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    err_console.print(f"[red]kafka:[/] {escape(str(err))}")
                continue
            try:
                event = codec.decode(msg.value() or b"", *where(msg))
            except DecodeError as exc:
                bad += 1
                err_console.print(f"[red]undecodable:[/] {escape(str(exc))}", highlight=False)
                continue
            shown += 1
            record = {
                "partition": msg.partition(),
                "offset": msg.offset(),
                "event_type": event.event_type,
            }
            record.update(json.loads(event.model_dump_json()))
            print(json.dumps(record, ensure_ascii=False), flush=True)
    finally:
        consumer.close()
        codec.registry.close()
    err_console.print(f"{shown} records shown, {bad} undecodable")


def register(app: typer.Typer) -> None:
    app.command()(publish)
    app.command()(tail)
