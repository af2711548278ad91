"""The data subjects' keys, kept outside Kafka (PostgreSQL), and their erasure.

Each data subject (a resident, by a pseudonymous id) gets a random AES-256 key the first time
their details are sealed; every later seal for them uses it. ``erase`` deletes the subject's
keys: every ``PersonalData`` sealed for them, on the log, in exports or anywhere else its bytes
were copied, can no longer be opened, while the events that carry it stay whole and replay
keeps rebuilding every read model (none of them holds the details in clear). An erasure is
recorded (the subject id, when, how many keys) for the audit; a subject sealed again after an
erasure gets a new key: the old data stays unreadable.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

import psycopg
from psycopg import sql
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.errors import InfrastructureError
from events.models import PersonalData
from events.sealing import KEY_BYTES, NONCE_BYTES, open_sealed, seal

__all__ = ["SCHEMA", "SubjectKeys", "privacy_schema"]

SCHEMA = "fq_privacy"


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FQ_", extra="ignore")

    privacy_schema: str = Field(default=SCHEMA, pattern=r"^[a-z_][a-z0-9_]{0,62}$")


def privacy_schema() -> str:
    """The key store's PostgreSQL schema: ``FQ_PRIVACY_SCHEMA`` (``fq_privacy``)."""
    return _Settings().privacy_schema


_DDL = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.subject_keys (
    subject_id text NOT NULL,
    key_id     text NOT NULL,
    key        bytea NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (subject_id, key_id)
);
CREATE TABLE IF NOT EXISTS {schema}.erasures (
    subject_id   text NOT NULL,
    erased_at    timestamptz NOT NULL,
    keys_deleted integer NOT NULL,
    reason       text NOT NULL
);
"""


class SubjectKeys:
    """The key store in PostgreSQL schema ``schema`` (``fq_privacy``) of ``dsn``."""

    def __init__(self, dsn: str, schema: str = SCHEMA) -> None:
        self.dsn = dsn
        self.schema = sql.Identifier(schema)
        self._ready = False

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        try:
            conn = psycopg.connect(self.dsn, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise InfrastructureError(
                f"the key store (PostgreSQL, FQ_PG_DSN) did not answer: {exc}"
            ) from exc
        if not self._ready:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('fq_privacy ddl'))")
                conn.execute(sql.SQL(_DDL).format(schema=self.schema))
            self._ready = True
        return conn

    def seal(self, subject_id: str, details: Mapping[str, str]) -> PersonalData:
        """``details`` sealed under ``subject_id``'s key (made now if the subject has none)."""
        with self._connect() as conn:
            # One key per subject, even when two sealers meet a new subject at once.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (subject_id,))
            row = conn.execute(
                sql.SQL(
                    "SELECT key_id, key FROM {}.subject_keys WHERE subject_id = %s "
                    "ORDER BY created_at DESC LIMIT 1"
                ).format(self.schema),
                (subject_id,),
            ).fetchone()
            if row is None:
                key_id, key = f"k{secrets.token_hex(6)}", os.urandom(KEY_BYTES)
                conn.execute(
                    sql.SQL("INSERT INTO {}.subject_keys VALUES (%s, %s, %s, %s)").format(
                        self.schema
                    ),
                    (subject_id, key_id, key, datetime.now(UTC)),
                )
            else:
                key_id, key = str(row[0]), bytes(row[1])  # type: ignore[call-overload]
        return seal(key, key_id, subject_id, details, os.urandom(NONCE_BYTES))

    def open(self, data: PersonalData) -> dict[str, str] | None:
        """The details in ``data``, or None when the subject's key was erased."""
        with self._connect() as conn:
            row = conn.execute(
                sql.SQL(
                    "SELECT key FROM {}.subject_keys WHERE subject_id = %s AND key_id = %s"
                ).format(self.schema),
                (data.subject_id, data.key_id),
            ).fetchone()
        return None if row is None else open_sealed(bytes(row[0]), data)  # type: ignore[call-overload]

    def erase(self, subject_id: str, reason: str) -> int:
        """Delete every key of ``subject_id`` and record the erasure; how many were deleted."""
        with self._connect() as conn:
            deleted = conn.execute(
                sql.SQL("DELETE FROM {}.subject_keys WHERE subject_id = %s").format(self.schema),
                (subject_id,),
            ).rowcount
            conn.execute(
                sql.SQL("INSERT INTO {}.erasures VALUES (%s, %s, %s, %s)").format(self.schema),
                (subject_id, datetime.now(UTC), deleted, reason),
            )
        return deleted
