"""``fengqiao stack up | down | status``: the local stack from the command line.

Mounted into the main CLI as the ``stack`` sub-command; also runnable on its own with
``python -m infra.stack_cli``. Settings come from the environment (``FQ_*``, see
``infra.settings.StackSettings`` and ``ConnectionSettings``). Errors go to stderr and the
exit code is non-zero.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.table import Table

from events.errors import FengqiaoError
from infra import stack
from infra.settings import ConnectionSettings, StackSettings
from infra.stack.layout import Layout

app = typer.Typer(
    name="stack",
    help="Run the local stack (PostgreSQL, Kafka, Apicurio Registry) as local processes.",
    no_args_is_help=True,
)


@contextmanager
def _errors_to_stderr() -> Iterator[None]:
    try:
        yield
    except FengqiaoError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e


@app.command()
def up() -> None:
    """Start PostgreSQL, Kafka and the registry (each unless already running), create the
    declared topics and set global compatibility BACKWARD_TRANSITIVE.

    Installs Java, Maven and PostgreSQL with apt-get when missing (as root). Exits 1 with
    the reason on stderr when a service does not start or a topic differs from infra/topics.py.
    """
    with _errors_to_stderr():
        report = stack.up(
            StackSettings(), ConnectionSettings(), Console(highlight=False, soft_wrap=True)
        )
    if report.noop:
        typer.echo("stack already up: nothing changed")


@app.command()
def down() -> None:
    """Stop the registry, Kafka and PostgreSQL. Data (topics, schemas, rows) is kept."""
    with _errors_to_stderr():
        stack.down(StackSettings(), Console(highlight=False, soft_wrap=True))


@app.command()
def status() -> None:
    """Show each service's address, pid, health and memory. Exits 1 unless all are healthy."""
    settings = StackSettings()
    reports = stack.status(settings)
    table = Table(title="Fengqiao local stack")
    for column in ("service", "address", "pid", "health", "RSS"):
        table.add_column(column, overflow="fold")
    for r in reports:
        table.add_row(
            r.name,
            r.address,
            str(r.pid or "-"),
            "[green]answering[/]" if r.healthy else "[red]not answering[/]",
            _mib(r.rss_kib * 1024) if r.rss_kib else "-",
        )
    console = Console()
    console.print(table)
    data_dir = Layout.of(settings).data_dir
    console.print(f"data: {data_dir} ({_mib(stack.disk_usage(data_dir))})", highlight=False)
    raise typer.Exit(0 if all(r.healthy for r in reports) else 1)


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


if __name__ == "__main__":
    app()
