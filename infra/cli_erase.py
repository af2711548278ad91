"""``fengqiao erase SUBJECT``: make a data subject's personal data unreadable everywhere."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import typer

from events.gateway.open311.store import erase_subject
from events.gateway.settings import GatewaySettings
from events.models import Actor, ActorRole, Envelope, PersonalDataErased
from events.publisher import Publisher, PublisherSettings
from events.subject_keys import SubjectKeys, privacy_schema
from infra.cli import err_console, reports_errors
from infra.cli_process import _reflowed
from infra.settings import ConnectionSettings

__all__ = ["erase", "register"]

SOURCE_SYSTEM = "fengqiao.privacy"


def register(app: typer.Typer) -> None:
    """Mount ``erase`` on the ``fengqiao`` command."""
    app.command("erase", help=_reflowed(erase.__doc__ or ""))(erase)


@reports_errors
def erase(
    subject: str = typer.Argument(..., help="the data subject's pseudonymous id"),
    reason: str = typer.Option(..., "--reason", help="why, e.g. the request and its reference"),
    operator: str = typer.Option(..., "--by", help="who erases (an operator's id)"),
) -> None:
    """Delete every key of a data subject, so that all personal data sealed for them (on the
    log, in exports, anywhere its bytes were copied) can no longer be read, and what the
    gateway keeps of them as an Open311 resident (the subject id is then the reporter_ref of
    their reports: their contact rows and the text of their requests), then write a
    PersonalDataErased audit event to the reference log. Cases and statistics stay whole.
    Asked again for the same subject, it deletes nothing more and writes another audit event.

    Environment: FQ_PG_DSN and FQ_PRIVACY_SCHEMA (fq_privacy): the key store; FQ_GATEWAY_SCHEMA
    (gateway): the Open311 tables; FQ_KAFKA_BOOTSTRAP, FQ_REGISTRY_URL, FQ_TOPIC_PREFIX.
    """
    dsn = ConnectionSettings().pg_dsn.get_secret_value()
    with SubjectKeys.connect(dsn, privacy_schema()) as keys:
        deleted = keys.erase(subject, reason)
    err_console.print(f"deleted {deleted} key(s) of {subject}")
    requests = erase_subject(dsn, GatewaySettings().gateway_schema, subject)
    err_console.print(f"erased the contact and text of {requests} Open311 request(s) of {subject}")
    now = datetime.now(UTC)
    audit = PersonalDataErased(
        envelope=Envelope(
            event_id=str(uuid.uuid4()),
            event_time=now,
            recorded_time=now,
            source_system=SOURCE_SYSTEM,
            actor=Actor(id=operator, role=ActorRole.command_centre),
        ),
        subject_id=subject,
        keys_deleted=deleted,
        reason=reason,
    )
    with Publisher(PublisherSettings()) as publisher:
        receipt = publisher.publish(audit)
    typer.echo(f"erased {subject}: audit event {receipt.event_id} at {receipt.topic}"
               f"[{receipt.partition}]@{receipt.offset}")  # fmt: skip
