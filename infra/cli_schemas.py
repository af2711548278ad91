"""``fengqiao schemas check | register``: the Avro contract, offline and in the registry."""

from __future__ import annotations

import typer
from rich.console import Console

from events.registry import SchemaRegistry
from events.schema_admin import Registered, register_catalog
from infra.cli import err_console, reports_errors
from infra.settings import ConnectionSettings
from schemas.catalog import load_catalog
from schemas.compatibility import check_backward_transitive

app = typer.Typer(help="Check and register the Avro contract in schemas/.", no_args_is_help=True)
console = Console()


@app.command()
@reports_errors
def check() -> None:
    """Prove offline that every event type's versions are BACKWARD_TRANSITIVE compatible."""
    catalog = load_catalog()
    problems = check_backward_transitive(catalog)
    versions = sum(len(catalog.versions(t)) for t in catalog.event_types())
    if problems:
        for problem in problems:
            err_console.print(f"[red]incompatible:[/] {problem}", highlight=False)
        raise typer.Exit(1)
    console.print(
        f"{len(catalog.event_types())} event types, {versions} versions: BACKWARD_TRANSITIVE ok"
    )


@app.command()
@reports_errors
def register() -> None:
    """Register every version of every event type (subject per topic and record type).

    Environment: FQ_REGISTRY_URL. Refuses an incompatible catalog with the reason.
    """
    settings = ConnectionSettings()
    registry = SchemaRegistry(settings.registry_url)

    def show(item: Registered) -> None:
        console.print(f"  {item.subject} v{item.version} → id {item.schema_id}", highlight=False)

    try:
        done = register_catalog(registry, load_catalog(), progress=show)
    finally:
        registry.close()
    console.print(f"registered {len(done)} subject versions at {settings.registry_url}")
