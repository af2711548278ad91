"""``fengqiao project``, ``fengqiao replay`` and ``fengqiao projections``: the read models in
PostgreSQL, kept live, rebuilt beside the live ones, and switched over atomically."""

from __future__ import annotations

import signal
import sys
import time
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from events.kafka_access import acting_as
from infra.cli import reports_errors
from infra.cli_process import _reflowed

console = Console(stderr=True)
projections_app = typer.Typer(no_args_is_help=True, help="Projection schemas: list and promote.")


def register(app: typer.Typer) -> None:
    """Mount ``project``, ``replay`` and ``projections`` on the ``fengqiao`` command."""
    app.command("project", help=_reflowed(project.__doc__ or ""))(project)
    app.command("replay", help=_reflowed(replay.__doc__ or ""))(replay)
    app.add_typer(projections_app, name="projections")


def _settings() -> Any:
    from projections.settings import ProjectorSettings

    return ProjectorSettings()


def _settings_and_codec() -> tuple[Any, Any]:
    from events.codec import AvroCodec
    from events.registry import SchemaRegistry

    settings = _settings()
    return settings, AvroCodec(SchemaRegistry(settings.registry_url))


def _connect(settings: Any) -> Any:
    from projections.store import connect

    return connect(settings.pg_dsn.get_secret_value())


@reports_errors
@acting_as("projector")
def project() -> None:
    """Keep the active projection schema up to date with the canonical logs, until SIGTERM
    or Ctrl-C. Every batch and the offsets it consumed commit in one PostgreSQL transaction,
    so a crash anywhere resumes exactly where the last batch ended. When a replay is
    promoted, it carries on in the promoted schema from where the replay stopped.

    Environment: FQ_KAFKA_BOOTSTRAP, FQ_REGISTRY_URL, FQ_PG_DSN, FQ_TOPIC_PREFIX,
    FQ_PROJECTION (city), FQ_PROJECTOR_BATCH (5000), FQ_PROJECTOR_MAX_WAIT_S (0.5),
    FQ_PROJECTOR_CACHE_CASES (1000000).
    """
    from projections.projector import BatchReport, Projector
    from projections.versions import live_schema

    settings, codec = _settings_and_codec()
    conn = _connect(settings)
    schema = live_schema(conn, settings.projection)
    conn.close()
    totals = {"records": 0, "applied": 0, "duplicates": 0, "dead_letters": 0}
    last_log = [time.monotonic(), 0]

    def on_batch(report: BatchReport) -> None:
        for key in totals:
            totals[key] += getattr(report, key)
        now = time.monotonic()
        if now - last_log[0] >= 10 or report.dead_letters:
            rate = (totals["records"] - last_log[1]) / (now - last_log[0])
            print(
                f"projected {totals['records']} records ({rate:,.0f}/s): applied "
                f"{totals['applied']}, re-sent duplicates {totals['duplicates']}, "
                f"dead letters {totals['dead_letters']}",
                file=sys.stderr,
                flush=True,
            )
            last_log[:] = [now, totals["records"]]

    projector = Projector(settings, schema, codec, on_batch=on_batch, follow=settings.projection)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: projector.stop())
    print(
        f"projecting into schema {schema} (projection {settings.projection})",
        file=sys.stderr,
        flush=True,
    )
    projector.run()


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO-8601 time, e.g. 2025-06-30T23:59:59+08:00"
        ) from None
    if parsed.tzinfo is None:
        raise typer.BadParameter(f"{value!r} has no time zone; add one, e.g. +08:00")
    return parsed


@reports_errors
@acting_as("projector")
def replay(
    until: Annotated[
        str | None,
        typer.Option(
            help="Only events recorded up to this time (ISO-8601 with zone): the city as known then."
        ),
    ] = None,
    into: Annotated[
        str | None, typer.Option(help="Name of the new schema (default fq_<projection>_r<n>).")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=12, help="Processes side by side, each with a share of the partitions."
        ),
    ] = 1,
    promote_after: Annotated[
        bool, typer.Option("--promote", help="Promote the new schema when the replay ends.")
    ] = False,
) -> None:
    """Rebuild every read model from the start of the canonical logs into a new PostgreSQL
    schema while the active one keeps serving; up to the logs' end as they are when the
    replay starts, or only what was recorded up to --until. Shows progress and an ETA.
    Batches of FQ_REPLAY_BATCH records (100000); the secondary indexes are built at the end.
    Promote the result with `fengqiao projections promote SCHEMA` (or --promote).
    """
    from projections.replay import replay as run_replay
    from projections.versions import mark_ready, new_replay_schema, promote

    settings = _settings()
    as_of = _parse_time(until)
    conn = _connect(settings)
    schema = new_replay_schema(conn, settings.projection, as_of, into)
    started = time.monotonic()
    with Progress(
        TextColumn(f"replay into {schema}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("replay", total=None, rate="")

        def on_progress(done: int, total: int) -> None:
            rate = done / max(time.monotonic() - started, 1e-9)
            bar.update(task, completed=done, total=total, rate=f"{rate:,.0f} events/s")

        total = run_replay(settings, schema, as_of, workers, on_progress)
    mark_ready(conn, schema)
    seconds = time.monotonic() - started
    print(
        f"replayed {total} records into {schema} in {seconds:.1f} s ({total / max(seconds, 1e-9):,.0f}/s)"
    )
    if promote_after:
        previous = promote(conn, settings.projection, schema)
        print(f"promoted {schema} (was {previous})")
    conn.close()


@projections_app.command("list")
@reports_errors
def list_() -> None:
    """Every schema of the projection (FQ_PROJECTION), the active one marked."""
    from projections.versions import list_schemas

    settings = _settings()
    conn = _connect(settings)
    table = Table("schema", "kind", "as known at", "state", "active")
    for s in list_schemas(conn, settings.projection):
        table.add_row(
            s.schema_name,
            s.kind,
            s.until.isoformat() if s.until else "",
            s.state,
            "*" if s.active else "",
        )
    Console().print(table)
    conn.close()


@projections_app.command("promote")
@reports_errors
def promote_(
    schema: Annotated[str, typer.Argument(help="The schema a finished replay built.")],
) -> None:
    """Make SCHEMA the one queries read, atomically; a running `fengqiao project` moves on
    to it within seconds, from the positions the replay reached."""
    from projections.versions import promote

    settings = _settings()
    conn = _connect(settings)
    previous = promote(conn, settings.projection, schema)
    conn.close()
    print(f"projection {settings.projection}: {previous} → {schema}")
