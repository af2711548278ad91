"""``fengqiao export events|models``: the canonical logs and the read models as Parquet files
for analysts (see ``projections.export_events`` and ``projections.export_models``)."""

from __future__ import annotations

import enum
import time
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from events.codec import AvroCodec
from events.registry import SchemaRegistry
from infra.cli import err_console, reports_errors
from projections.export_events import STREAMS, export_events
from projections.export_files import Period, Written
from projections.export_models import export_models
from projections.settings import ProjectorSettings

console = Console()
app = typer.Typer(
    help="Export the canonical logs and the read models to Parquet, for analysts.",
    no_args_is_help=True,
)


class Stream(str, enum.Enum):
    case = "case"
    visit = "visit"
    reference = "reference"


_DATE = ["%Y-%m-%d"]


@app.command("events")
@reports_errors
def events(
    start: datetime = typer.Option(
        ..., "--from", formats=_DATE, help="first local date (Asia/Shanghai)"
    ),
    end: datetime = typer.Option(
        ..., "--to", formats=_DATE, help="the day after the last local date"
    ),
    out: Path = typer.Option(
        ..., "--out", help="directory for <stream>-events.parquet (made if missing)"
    ),
    stream: list[Stream] | None = typer.Option(
        None, "--stream", help="a stream to export (repeatable; default: all three)"
    ),
    skip_undecodable: bool = typer.Option(
        False, "--skip-undecodable", help="export the rest when records do not decode (listed)"
    ),
) -> None:
    """Export the events of the canonical logs whose event time falls in [--from, --to).

    Reads every partition of each stream's canonical topic from its start up to where it
    ended when the export started (committed records only), and writes one Parquet file per
    stream, rows in (partition, offset) order: envelope columns, the stream's key (case_id,
    grid_id, or entity_id for reference data) and the other fields as JSON in ``payload``.
    The same log and period give byte-identical files. A record that does not decode ends the
    export with exit 1 and nothing written, unless --skip-undecodable.

    Environment: FQ_KAFKA_BOOTSTRAP, FQ_REGISTRY_URL, FQ_TOPIC_PREFIX.
    """
    period = Period(start.date(), end.date())
    settings = ProjectorSettings()
    codec = AvroCodec(SchemaRegistry(settings.registry_url))
    began = time.monotonic()
    columns = (
        TextColumn("exporting events"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=err_console) as bar:
            task = bar.add_task("read", total=None)
            report = export_events(
                settings,
                codec,
                out,
                period,
                [s.value for s in stream] if stream else STREAMS,
                skip_undecodable=skip_undecodable,
                on_total=lambda n: bar.update(task, total=n),
                on_read=lambda n: bar.advance(task, n),
            )
    finally:
        codec.registry.close()
    seconds = time.monotonic() - began
    for bad in report.first_undecodable:
        err_console.print(f"[yellow]skipped undecodable:[/] {escape(str(bad))}", highlight=False)
    if report.undecodable > len(report.first_undecodable):
        more = report.undecodable - len(report.first_undecodable)
        err_console.print(f"[yellow]... and {more} more[/]")
    _summary(report.files)
    console.print(
        f"read {report.read:,} records in {seconds:.1f}s "
        f"({report.read / max(seconds, 1e-9):,.0f}/s), "
        f"{report.undecodable} undecodable skipped",
        highlight=False,
        soft_wrap=True,
    )


@app.command("models")
@reports_errors
def models(
    out: Path = typer.Option(
        ..., "--out", help="directory for <table>.parquet and freshness.json (made if missing)"
    ),
    schema: str | None = typer.Option(
        None, "--schema", help="projection schema to read (default: the active one)"
    ),
    tables: str | None = typer.Option(
        None, "--tables", help="comma-separated read models, e.g. cases,deadlines (default: all)"
    ),
    start: datetime | None = typer.Option(None, "--from", formats=_DATE, help="first local date"),
    end: datetime | None = typer.Option(None, "--to", formats=_DATE, help="the day after the last"),
) -> None:
    """Export read-model tables of a projection schema, one Parquet file per table.

    Rows are in primary-key order, columns typed as in PostgreSQL (timestamptz as UTC
    millisecond timestamps, date as date32). With --from/--to, cases (by reported_at's local
    date), resolutions, visits and stats_daily (by day) keep that period's rows; other tables
    are exported whole. freshness.json gives, per table, the latest event time its sources'
    checkpoints reached, the freshness the queries report (complete_to), and the schema read.
    All tables come from one snapshot.

    Environment: FQ_PG_DSN, FQ_PROJECTION.
    """
    period = Period.optional(start.date() if start else None, end.date() if end else None)
    names = [n.strip() for n in tables.split(",") if n.strip()] if tables else None
    columns = (TextColumn("exporting {task.description}"), TextColumn("{task.completed:,} rows"))
    began = time.monotonic()
    with Progress(*columns, console=err_console) as bar:
        tasks: dict[str, TaskID] = {}

        def advance(table: str, rows: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=None)
            bar.advance(tasks[table], rows)

        report = export_models(ProjectorSettings(), out, schema, names, period, on_rows=advance)
    seconds = time.monotonic() - began
    _summary(report.files)
    exported = [f.name.removesuffix(".parquet") for f in report.files]
    whole = [t for t in exported if t not in report.filtered]
    note = f"; whole tables (no period column): {', '.join(whole)}" if period and whole else ""
    console.print(
        f"schema {report.schema}, {sum(f.rows for f in report.files):,} rows in {seconds:.1f}s, "
        f"freshness.json beside them{note}",
        highlight=False,
        soft_wrap=True,
    )


def _summary(files: list[Written]) -> None:
    for f in files:
        console.print(f"{f.rows:>12,} rows  {escape(str(f.path))}", highlight=False, soft_wrap=True)
