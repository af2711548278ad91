"""``fengqiao bench``: the benchmark suite on the local stack (see ``bench/suite.py``).

``bench/`` is not part of the installed package: it runs from a checkout, so the command
imports it from the project folder.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from events.registry import SchemaRegistry
from events.schema_admin import register_catalog
from infra.cli import err_console, reports_errors
from infra.settings import PROJECT_ROOT, ConnectionSettings
from schemas.catalog import load_catalog

console = Console()


@reports_errors
def bench(
    names: list[str] | None = typer.Argument(None, help="benchmarks to run (default: all)"),
    repeats: int = typer.Option(3, min=1, help="repeats per benchmark; figures are medians"),
    list_only: bool = typer.Option(False, "--list", help="list the benchmarks and stop"),
) -> None:
    """Run benchmarks side by side with their baselines and write the results.

    Writes bench/results/suite-<timestamp>.json and a markdown table (.md) beside it: each
    benchmark's figures, its ratio to the baseline, its targets and whether they are met.
    A benchmark not available yet is reported as such; asking for one by name then exits 1,
    as does a benchmark that fails. Registers the Avro contract first (idempotent).

    Environment: FQ_KAFKA_BOOTSTRAP, FQ_REGISTRY_URL, FQ_PG_DSN.
    """
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    from bench.suite import BENCHMARKS, now, run_suite, write

    if list_only:
        table = Table("benchmark", "compares", "module")
        for b in BENCHMARKS.values():
            table.add_row(b.name, b.compares, b.module)
        console.print(table)
        return
    unknown = [n for n in names or () if n not in BENCHMARKS]
    if unknown:
        raise typer.BadParameter(
            f"unknown {unknown}; known: {', '.join(BENCHMARKS)}", param_hint="NAMES"
        )
    chosen = list(names or BENCHMARKS)
    registry = SchemaRegistry(ConnectionSettings().registry_url)
    try:
        register_catalog(registry, load_catalog())
    finally:
        registry.close()
    started = now()
    outcomes = run_suite(chosen, repeats, lambda b: err_console.print(f"running {b.name}…"))
    json_path, md_path = write(outcomes, repeats, started)
    table = Table("benchmark", "status", "ratio", "targets", title="benchmark suite")
    for o in outcomes:
        ratio_name = BENCHMARKS[o.name].ratio
        ratio = o.figures.get(ratio_name, "") if ratio_name else ""
        targets = ", ".join(f"{t['target']}: {t['met']}" for t in o.targets)
        table.add_row(o.name, o.status, str(ratio), targets)
        if o.status == "failed":
            err_console.print(f"[red]{o.name} failed:[/] {escape(o.detail)}", highlight=False)
        elif not o.ok:
            err_console.print(f"{o.name}: {o.status} ({escape(o.detail)})", highlight=False)
    console.print(table)
    console.print(f"written {json_path} and {md_path}")
    asked = set(names or ())
    if any(o.status == "failed" or (o.status != "ok" and o.name in asked) for o in outcomes):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(bench)
