"""``fengqiao gateway`` (the HTTP gateway) and ``fengqiao credentials create | list | rotate |
revoke`` (the keys systems call it with)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from events.gateway.credentials import KINDS, CredentialStore, check_request
from events.gateway.database import ensure_schema
from events.gateway.settings import GatewaySettings
from events.kafka_access import acting_as
from events.models import Actor, ActorRole, Envelope, SourceSystemDefined
from infra.cli import err_console, reports_errors
from infra.cli_process import _reflowed

__all__ = ["credentials", "gateway", "parse_grace", "register"]

credentials = typer.Typer(help="The keys systems call the gateway with.", no_args_is_help=True)
console = Console()
CREDENTIALS_SYSTEM = "fengqiao.credentials"
_GRACE = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def register(app: typer.Typer) -> None:
    """Mount ``gateway`` and ``credentials`` on the ``fengqiao`` command."""
    app.command("gateway", help=_reflowed(gateway.__doc__ or ""))(gateway)
    app.add_typer(credentials, name="credentials")


@reports_errors
@acting_as("gateway")
def gateway() -> None:
    """Serve the HTTP gateway (POST /v1/events, /v1/events/batch, GET /v1/submissions/{id},
    /v1/outcomes; Open311 GeoReport v2 at /open311/v2; OpenAPI at /docs) until Ctrl-C or
    SIGTERM.

    Environment: FQ_GATEWAY_HOST (127.0.0.1), FQ_GATEWAY_PORT (8090), FQ_GATEWAY_WORKERS (1),
    FQ_KAFKA_BOOTSTRAP,
    FQ_REGISTRY_URL, FQ_TOPIC_PREFIX, FQ_PG_DSN, FQ_GATEWAY_SCHEMA (gateway),
    FQ_GATEWAY_LINGER_MS (1), FQ_GATEWAY_ACK_TIMEOUT_S (15), FQ_GATEWAY_MAX_BATCH (1000),
    FQ_GATEWAY_AUTH_CACHE_S (5), FQ_GATEWAY_POOL (8), FQ_GATEWAY_POLL_S (0.2);
    FQ_OPEN311_JURISDICTION_ID (ningbo.gov.cn), FQ_PROJECTION (city: the read models the
    states of Open311 requests are read from).
    """
    import logging

    import uvicorn

    # Refusals are logged at INFO (invalid bodies) and WARNING (keys, scopes), with the system.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = GatewaySettings()
    host, port = settings.gateway_host, settings.gateway_port
    workers = settings.gateway_workers
    err_console.print(
        f"gateway on http://{host}:{port}/ ({workers} workers; OpenAPI at /docs;"
        " Open311 at /open311/v2)"
    )
    uvicorn.run(
        "infra.gateway_app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        # uvloop and httptools (both declared): the default asyncio loop and the pure-Python
        # h11 parser cost more of a request's CPU than the gateway's own work.
        loop="uvloop",
        http="httptools",
    )


@contextmanager
def _store() -> Iterator[CredentialStore]:
    settings = GatewaySettings()
    dsn = settings.pg_dsn.get_secret_value()
    ensure_schema(dsn, settings.gateway_schema)
    options = f"-c search_path={settings.gateway_schema}"
    with psycopg.connect(dsn, autocommit=True, options=options) as conn:
        yield CredentialStore(conn)


def _codes(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_grace(text: str) -> timedelta:
    """``90``, ``90s``, ``30m``, ``24h`` or ``7d`` as a duration."""
    found = _GRACE.match(text.strip())
    if found is None:
        raise typer.BadParameter(f"{text!r}: give a number with s, m, h or d, e.g. 24h")
    return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)])


def scope_definition(
    system: str, event_types: list[str], departments: list[str], districts: list[str], on: date
) -> SourceSystemDefined:
    """The reference event that puts a system's scope on the log."""
    now = datetime.now(UTC)
    envelope = Envelope(
        event_id=f"system-{uuid.uuid4()}",
        event_time=now,
        recorded_time=now,
        source_system=CREDENTIALS_SYSTEM,
        actor=Actor(id=CREDENTIALS_SYSTEM, role=ActorRole.system),
    )
    return SourceSystemDefined(
        envelope=envelope,
        system=system,
        event_types=tuple(event_types),
        departments=tuple(departments),
        districts=tuple(districts),
        effective_from=on,
    )


@credentials.command("create")
@reports_errors
def create(
    system: Annotated[str, typer.Option(help="the system's id: its submissions' source_system")],
    events: Annotated[str, typer.Option(help="event types it may submit, comma-separated; * any")],
    departments: Annotated[str, typer.Option(help="department codes it speaks for; * any")],
    districts: Annotated[str, typer.Option(help="district codes of its grids; * any")],
    kind: Annotated[str, typer.Option(help=f"one of {', '.join(KINDS)}")] = "system",
    publish: Annotated[
        bool, typer.Option(help="publish the scope as SourceSystemDefined on the reference inbox")
    ] = True,
) -> None:
    """Make a key for a system; the key is printed once, on stdout, and stored only hashed.

    The scope is also published as reference data (SourceSystemDefined), so that the workflow
    can judge each step against who sent it (FQ_KAFKA_BOOTSTRAP, FQ_REGISTRY_URL,
    FQ_TOPIC_PREFIX).
    """
    scope = (_codes(events), _codes(departments), _codes(districts))
    check_request(kind, *scope)  # before anything is published
    if publish:
        from events.publisher import Publisher

        definition = scope_definition(system, *scope, datetime.now(UTC).date())
        with Publisher() as publisher:
            publisher.publish(definition)
    with _store() as store:
        issued = store.create(system, *scope, kind=kind)
    err_console.print(f"key {issued.key_id} for {system} (shown once; store it now):")
    print(issued.key)


@credentials.command("list")
@reports_errors
def list_keys(
    system: Annotated[str | None, typer.Option(help="only this system's keys")] = None,
) -> None:
    """Every key (never a secret): its system, scope, and when it expires or was revoked."""
    with _store() as store:
        keys = store.list(system)
    table = Table("key id", "system", "kind", "events", "departments", "districts", "state")
    now = datetime.now(UTC)
    for k in keys:
        if k.revoked_at is not None:
            state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}"
        elif k.expires_at is not None:
            verb = "expired" if k.expires_at <= now else "expires"
            state = f"{verb} {k.expires_at:%Y-%m-%d %H:%M}"
        else:
            state = "valid"
        scope = k.scope
        table.add_row(
            k.key_id,
            k.system,
            k.kind,
            ",".join(scope.event_types),
            ",".join(scope.departments),
            ",".join(scope.districts),
            state,
        )
    console.print(table)


@credentials.command("rotate")
@reports_errors
def rotate(
    key_id: Annotated[str, typer.Argument(help="the key to replace")],
    grace: Annotated[
        str, typer.Option(help="how long the old key stays valid: 90s, 30m, 24h, 7d")
    ] = "24h",
) -> None:
    """A new key with the same system and scope; the old one stays valid for --grace."""
    period = parse_grace(grace)
    with _store() as store:
        issued = store.rotate(key_id, period)
    err_console.print(
        f"key {issued.key_id} for {issued.system} (shown once); {key_id} ends in {grace}:"
    )
    print(issued.key)


@credentials.command("revoke")
@reports_errors
def revoke(key_id: Annotated[str, typer.Argument(help="the key to end now")]) -> None:
    """End a key at once (gateways stop trusting it within FQ_GATEWAY_AUTH_CACHE_S)."""
    with _store() as store:
        store.revoke(key_id)
    err_console.print(f"key {key_id} revoked")
