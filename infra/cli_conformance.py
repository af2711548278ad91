"""``fengqiao conformance SYSTEM FILE``: an integrator's sample submissions run through a
sandbox, each reported with the answer the gateway and the workflow give it."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from events.conformance.samples import Kind, read_samples
from events.conformance.verdicts import Answer, Verdict, summary
from events.gateway.settings import GatewaySettings
from infra.cli import err_console, reports_errors
from infra.cli_process import _reflowed
from infra.conformance import Report, Sandbox, credential_of, run_samples, unscoped
from infra.settings import ConnectionSettings

__all__ = ["conformance", "register"]

console = Console()


def register(app: typer.Typer) -> None:
    """Mount ``conformance`` on the ``fengqiao`` command."""
    app.command("conformance", help=_reflowed(conformance.__doc__ or ""))(conformance)


@reports_errors
def conformance(
    system: Annotated[str, typer.Argument(help="the source system stamped on the samples")],
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="NDJSON, or a JSON array, of samples"),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON document on stdout instead of a table")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="seconds to wait for the workflow's outcomes of a run")
    ] = 60.0,
) -> None:
    """Run sample submissions through a sandbox and report what became of each: accepted
    (with its case sequence), rejected by the workflow (code and message), or refused by the
    gateway (422: every field, rule and expected value; 403: the scope).

    FILE holds the bodies you would POST to /v1/events, as NDJSON (one JSON object per line)
    or as one JSON array. Beside an event's fields a sample may say what it expects:
    "expect": "accepted" (the default), "rejected" or "rejected:<CODE>", "invalid" or
    "invalid:<field>" (dotted, e.g. envelope.event_time), "forbidden" or "forbidden:<scope>"
    (event_types, departments or districts). Leave out envelope.source_system and
    envelope.recorded_time: SYSTEM and the time of receipt are stamped, as the gateway stamps
    them. If SYSTEM has a credential, its scope applies.

    The sandbox has topics of its own (conformance.<system>.<id>.*, deleted afterwards), its
    own workflow worker, and a fixed reference set: district haishu, street haishu-s001,
    village haishu-s001-v01, grids haishu-s001-v01-g01 and -g02 (workers w-<grid>-1..3,
    leaders l-<grid>), every department and category of the simulator, SLA policy standard,
    the shipped calendars, all from 2025-01-01. Samples may define reference data of their
    own first. Fixtures for every event type: events/conformance/fixtures/.

    Exit code 0 when every sample got the answer it expected, 1 otherwise or when the kit
    could not run (the reason on stderr). Environment: FQ_KAFKA_BOOTSTRAP, FQ_REGISTRY_URL,
    FQ_PG_DSN, FQ_GATEWAY_SCHEMA (where credentials are).
    """
    samples = read_samples(file.read_bytes())
    logging.getLogger("fengqiao.gateway").addHandler(logging.NullHandler())  # answers, not logs
    caller = credential_of(system, GatewaySettings(), datetime.now(UTC))
    if caller is None:
        err_console.print(f"{escape(system)} has no credential: no scope applies")
        caller = unscoped(system)
    else:
        scope = caller.scope
        err_console.print(
            f"{escape(system)}'s scope (key {caller.key_id}): events "
            f"{','.join(scope.event_types)}; departments {','.join(scope.departments)}; "
            f"districts {','.join(scope.districts)}"
        )
    with err_console.status("starting the sandbox") as status:

        def say(message: str) -> None:
            status.update(escape(message))
            if not err_console.is_terminal:  # no spinner in a log: a line per step
                err_console.print(message, highlight=False)

        with Sandbox(system, ConnectionSettings(), say, timeout) as sandbox:
            say(f"running {len(samples)} samples")
            report = run_samples(sandbox, samples, caller)
    if as_json:
        print(json.dumps(_document(system, report), ensure_ascii=False, indent=2))
    else:
        console.print(_table(report.verdicts))
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items())
    err_console.print(f"{summary(report.verdicts)} ({timings})", highlight=False)
    if not report.passed:
        raise typer.Exit(1)


def _document(system: str, report: Report) -> dict[str, object]:
    return {
        "system": system,
        "passed": report.passed,
        "sandbox": report.sandbox,
        "samples": [v.as_dict() for v in report.verdicts],
        "timings_s": {k: round(v, 3) for k, v in report.timings.items()},
    }


def _table(verdicts: list[Verdict]) -> Table:
    table = Table("sample", "event type", "expected", "answer", "")
    for column in table.columns[:3]:
        column.no_wrap = True
    for v in verdicts:
        mark = "[green]ok[/]" if v.passed else "[bold red]NOT EXPECTED[/]"
        why = _why(v.answer)
        answer = escape(_short(v.answer)) + (f"\n[dim]{escape(why)}[/]" if why else "")
        table.add_row(
            v.sample.where,
            escape(v.sample.event_type),
            escape(str(v.sample.expect)),
            answer,
            mark,
        )
    return table


def _short(answer: Answer) -> str:
    if answer.kind is Kind.accepted:
        return f"accepted, sequence {answer.sequence}"
    if answer.kind is Kind.rejected:
        return f"rejected {answer.code}"
    if answer.kind is Kind.forbidden:
        return f"403 {answer.scope}"
    return f"422 {', '.join(answer.fields)}"


def _why(answer: Answer) -> str:
    if answer.kind is Kind.invalid:  # a long list of what is expected is left to --json
        return "; ".join(
            f"{e.get('field')}: {e.get('rule')}"
            + (
                f" (expected {e['expected']})"
                if len(str(e.get("expected") or "x" * 81)) <= 80
                else ""
            )
            + f": {e.get('message')}"
            for e in answer.errors
        )
    return answer.message
