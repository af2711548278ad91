"""The ``fengqiao`` command: one entry point for operators, integrators and analysts.

Configuration comes from ``FQ_*`` environment variables (see infra/settings.py and the
README). Errors are printed to stderr and end the command with a non-zero exit code.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from schemas.errors import FengqiaoError

err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def settings_problems(exc: ValidationError) -> str | None:
    """What is wrong with the environment, variable by variable, when ``exc`` is the refusal
    of a settings class (``None`` for any other validation error)."""
    if not exc.title.endswith("Settings"):
        return None
    prefix = _ENV_PREFIXES.get(exc.title, "FQ_")
    return "; ".join(
        f"{prefix}{'_'.join(map(str, e['loc'])).upper()}={e['input']!r}: {e['msg']}"
        for e in exc.errors()
    )


_ENV_PREFIXES = {"SimulateSettings": "FQ_SIM_"}  # the others read FQ_*


def reports_errors(func: F) -> F:
    """Print a Fengqiao error to stderr and exit 1, instead of a traceback; a setting the
    environment gives wrong is named, with the rule it breaks, and exits 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FengqiaoError as exc:
            message = escape(f"{type(exc).__name__}: {exc}")
            err_console.print(f"[bold red]error:[/] {message}", highlight=False)
            raise typer.Exit(1) from exc
        except ValidationError as exc:
            problems = settings_problems(exc)
            if problems is None:
                raise
            err_console.print(f"[bold red]error:[/] {escape(problems)}", highlight=False)
            raise typer.Exit(2) from exc

    return wrapper  # type: ignore[return-value]


app = typer.Typer(
    name="fengqiao",
    help="Fengqiao: event-sourced workflow engine for grid-based community governance.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _mount() -> None:
    from infra import (
        cli_case,
        cli_demo,
        cli_events,
        cli_process,
        cli_project,
        cli_schemas,
        stack_cli,
    )

    app.add_typer(stack_cli.app, name="stack")
    app.add_typer(cli_schemas.app, name="schemas")
    app.add_typer(cli_case.app, name="case")
    cli_events.register(app)
    cli_demo.register(app)
    cli_process.register(app)
    from infra import cli_simulate

    cli_simulate.register(app)
    from infra import cli_bench

    cli_bench.register(app)
    cli_project.register(app)
    from infra import cli_serve

    cli_serve.register(app)
    from infra import cli_conformance, cli_export, cli_gateway

    cli_gateway.register(app)
    cli_conformance.register(app)

    app.add_typer(cli_export.app, name="export")
    from infra import cli_erase

    cli_erase.register(app)


def main() -> None:
    _mount()
    app(prog_name="fengqiao")


if __name__ == "__main__":
    main()
