"""The gateway's tables in PostgreSQL, in a schema of their own, and ``ensure_schema``.

- ``credentials``: one row per key: its system, kind, scope and scrypt hash; never the secret.
- ``idempotency``: the answer given to each (system, Idempotency-Key), with the body's hash.
- ``submissions``: what each system submitted through the gateway, and where Kafka put it.
- ``outcomes`` and ``outcome_positions``: the workflow's answers read from ``fq.outcomes``,
  written in the same transaction as the offset they were read up to.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

__all__ = ["ensure_schema"]

_TABLES = """
CREATE TABLE IF NOT EXISTS credentials (
    key_id text PRIMARY KEY,
    system text NOT NULL,
    kind text NOT NULL,
    salt bytea NOT NULL,
    secret_hash bytea NOT NULL,
    event_types text[] NOT NULL,
    departments text[] NOT NULL,
    districts text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS credentials_system ON credentials (system);
CREATE TABLE IF NOT EXISTS idempotency (
    system text NOT NULL,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    status int NOT NULL,
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (system, key)
);
CREATE TABLE IF NOT EXISTS submissions (
    system text NOT NULL,
    event_id text NOT NULL,
    event_type text NOT NULL,
    topic text NOT NULL,
    kafka_partition int NOT NULL,
    kafka_offset bigint NOT NULL,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (system, event_id)
);
CREATE TABLE IF NOT EXISTS outcomes (
    kafka_partition int NOT NULL,
    kafka_offset bigint NOT NULL,
    system text NOT NULL,
    submission_event_id text NOT NULL,
    submission_type text NOT NULL,
    submission_key text NOT NULL,
    submission_stream text NOT NULL,
    status text NOT NULL,
    first_status text,
    sequence bigint,
    code text,
    message text,
    inbox_topic text NOT NULL,
    inbox_partition int NOT NULL,
    inbox_offset bigint NOT NULL,
    PRIMARY KEY (kafka_partition, kafka_offset)
);
CREATE INDEX IF NOT EXISTS outcomes_system ON outcomes (system, kafka_offset);
CREATE INDEX IF NOT EXISTS outcomes_submission ON outcomes (system, submission_event_id);
CREATE TABLE IF NOT EXISTS outcome_positions (
    topic text NOT NULL,
    kafka_partition int NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, kafka_partition)
);
"""

_DDL_LOCK = 7_351_201  # gateways starting together create the tables one at a time


def ensure_schema(dsn: str, schema: str) -> None:
    """Create the schema and its tables when missing; a second call changes nothing."""
    with psycopg.connect(dsn) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(_TABLES.encode())
