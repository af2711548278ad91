"""``fengqiao demo``: one street's day, published to Kafka and read back decoded.

Generates a seeded day of Zhuangshi street (庄市街道: 14 communities, 189 grids) — its
reference data, the grid workers' visits and the cases they report with their whole
lifecycle — writes it as NDJSON, publishes it through the SDK and prints it back from Kafka.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from events.models import Event
from events.publisher import Publisher, PublisherSettings
from events.readback import read_receipts
from events.registry import SchemaRegistry
from events.schema_admin import register_catalog
from infra.cli import err_console, reports_errors
from infra.settings import ConnectionSettings, StackSettings
from schemas.catalog import load_catalog
from simulate.activity import day_events
from simulate.city import CityShape, reference_events
from simulate.output import NdjsonSink

console = Console()


@reports_errors
def demo(
    day: str = typer.Option("2025-06-03", help="the simulated day (YYYY-MM-DD)"),
    seed: int = typer.Option(20250603, help="seed: the same seed gives the same events"),
    show: int = typer.Option(3, help="how many decoded events of each kind to print"),
) -> None:
    """Publish a sample day of one street's events and print them back decoded.

    Environment: FQ_KAFKA_BOOTSTRAP, FQ_REGISTRY_URL, FQ_DATA_DIR (where the NDJSON goes).
    """
    settings = ConnectionSettings()
    registry = SchemaRegistry(settings.registry_url)
    register_catalog(registry, load_catalog())
    city, events = reference_events(CityShape.zhuangshi(), seed)
    events += list(day_events(city, date.fromisoformat(day), random.Random(seed)))
    path = _write_ndjson(StackSettings().data_dir / "demo" / f"zhuangshi-{day}.ndjson", events)
    console.print(f"{len(events)} events of Zhuangshi street on {day} → {path}")

    with Publisher(PublisherSettings(), registry) as publisher, _bar() as bar:
        task = bar.add_task("publish", total=len(events))
        result = publisher.publish_batch(events, progress=lambda n: bar.advance(task, n))
    for failure in result.failures:
        err_console.print(f"[red]event {failure.index}:[/] {failure.reason}", highlight=False)
    console.print(f"published {len(result.receipts)}, failed {len(result.failures)}")

    kinds: Counter[str] = Counter()
    for _, event in read_receipts(settings.kafka_bootstrap, publisher.codec, result.receipts):
        kinds[event.event_type] += 1
        if kinds[event.event_type] <= show:
            console.print_json(event.model_dump_json())
    table = Table("event type", "read back", title="decoded from Kafka")
    for kind, count in kinds.most_common():
        table.add_row(kind, str(count))
    console.print(table)
    if result.failures or sum(kinds.values()) != len(events):
        raise typer.Exit(1)


def _write_ndjson(path: Path, events: list[Event]) -> Path:
    sink = NdjsonSink.create(path)
    try:
        sink.write(events)
    finally:
        sink.close()
    return path


def _bar() -> Progress:
    return Progress(
        TextColumn("publishing"), BarColumn(), MofNCompleteColumn(), console=err_console
    )


def register(app: typer.Typer) -> None:
    app.command()(demo)
