"""The requests residents' apps filed through Open311, and the residents' personal data, in
the gateway's PostgreSQL schema: never on the log (DESIGN §2).

- ``open311_requests``: what each request said that the log does not keep (the address as
  typed, the media URL, the description as given), by its service_request_id (the case id);
- ``open311_reporters``: the resident's name, phone, email, device and account ids as the app
  sent them, by the same id, with the pseudonym ``reporter_ref`` their case report carries;
- ``open311_keys``: the key of the pseudonyms, made once per gateway schema.

An Open311 resident is a data subject whose id is that ``reporter_ref`` (the pseudonym of
their contact, the ``reporter_ref`` and actor id of their ``CaseReported``): ``fengqiao erase
<reporter_ref>`` calls ``erase_subject``, which deletes their rows of ``open311_reporters`` and
what they typed into their requests (description, address, media URL), while the requests'
cases, service, grid and place stay. A request filed with no contact has no pseudonym and
keeps nothing personal of anyone.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.rows import class_row

from events.errors import InfrastructureError
from events.gateway.database import ensure_schema
from events.gateway.open311.rules import PERSONAL_FIELDS, Filing, Query

__all__ = [
    "Filed",
    "ensure_tables",
    "erase_subject",
    "filed",
    "forget",
    "pseudonym_key",
    "remember",
]

_TABLES = """
CREATE TABLE IF NOT EXISTS open311_requests (
    service_request_id text PRIMARY KEY,
    system text NOT NULL,
    event_id text NOT NULL,
    service_code text NOT NULL,
    grid_id text NOT NULL,
    description text,
    address_string text,
    address_id text,
    lat double precision,
    lon double precision,
    media_url text,
    requested_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS open311_requests_requested ON open311_requests (requested_at);
CREATE TABLE IF NOT EXISTS open311_reporters (
    service_request_id text PRIMARY KEY
        REFERENCES open311_requests ON DELETE CASCADE,
    system text NOT NULL,
    reporter_ref text,
    first_name text,
    last_name text,
    email text,
    phone text,
    device_id text,
    account_id text
);
CREATE TABLE IF NOT EXISTS open311_keys (
    name text PRIMARY KEY,
    secret bytea NOT NULL
);
"""
_DDL_LOCK = 7_351_311


def ensure_tables(dsn: str, schema: str) -> bytes:
    """Create the tables when missing; the pseudonyms' key (made on the first call)."""
    ensure_schema(dsn, schema)  # the gateway's own tables, and the schema
    with psycopg.connect(dsn, options=f"-c search_path={schema}") as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
        conn.execute(_TABLES.encode())
        return pseudonym_key(conn)


def pseudonym_key(conn: psycopg.Connection[Any]) -> bytes:
    conn.execute(
        "INSERT INTO open311_keys (name, secret) VALUES ('reporter_ref', %s)"
        " ON CONFLICT DO NOTHING",
        (secrets.token_bytes(32),),
    )
    row = conn.execute("SELECT secret FROM open311_keys WHERE name = 'reporter_ref'").fetchone()
    assert row is not None
    return bytes(row[0])


@dataclass(frozen=True)
class Filed:
    """One request as filed (a row of ``open311_requests``)."""

    service_request_id: str
    system: str
    event_id: str
    service_code: str
    grid_id: str
    description: str | None
    address_string: str | None
    address_id: str | None
    lat: float | None
    lon: float | None
    media_url: str | None
    requested_at: datetime


async def remember(
    conn: AsyncConnection[Any],
    case_id: str,
    system: str,
    event_id: str,
    filing: Filing,
    received: datetime,
    reporter: str | None,
) -> None:
    """Keep the request and its resident's data, in one transaction."""
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO open311_requests (service_request_id, system, event_id, service_code,"
            " grid_id, description, address_string, address_id, lat, lon, media_url,"
            " requested_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                case_id,
                system,
                event_id,
                filing.service_code,
                filing.grid_id,
                filing.description,
                filing.address_string,
                filing.address_id,
                filing.lat,
                filing.lon,
                filing.media_url,
                received,
            ),
        )
        if filing.personal or reporter is not None:
            personal: Mapping[str, str | None] = filing.personal
            await conn.execute(
                "INSERT INTO open311_reporters (service_request_id, system, reporter_ref,"
                f" {', '.join(PERSONAL_FIELDS)}) VALUES (%s, %s, %s"
                f"{', %s' * len(PERSONAL_FIELDS)})",
                (case_id, system, reporter, *(personal.get(f) for f in PERSONAL_FIELDS)),
            )


async def forget(conn: AsyncConnection[Any], case_id: str) -> None:
    """Remove a request Kafka never acknowledged (its resident's data with it)."""
    await conn.execute("DELETE FROM open311_requests WHERE service_request_id = %s", (case_id,))


def erase_subject(dsn: str, schema: str, subject_id: str) -> int:
    """Erase what the gateway schema ``schema`` keeps of the Open311 resident ``subject_id``
    (their ``reporter_ref``): their contact rows, and the free text of their requests; how
    many requests were theirs. 0 when the schema has no Open311 tables (never served it).

    Raises:
        InfrastructureError: PostgreSQL did not answer or refused.
    """
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn, conn.transaction():
            found = conn.execute(
                "SELECT to_regclass(format('%%I.open311_reporters', %s::text))", (schema,)
            ).fetchone()
            if found is None or found[0] is None:
                return 0
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
            theirs = conn.execute(
                "DELETE FROM open311_reporters WHERE reporter_ref = %s"
                " RETURNING service_request_id",
                (subject_id,),
            ).fetchall()
            conn.execute(
                "UPDATE open311_requests SET description = NULL, address_string = NULL,"
                " media_url = NULL WHERE service_request_id = ANY(%s)",
                ([row[0] for row in theirs],),
            )
            return len(theirs)
    except psycopg.Error as exc:
        raise InfrastructureError(
            f"the gateway's Open311 tables (PostgreSQL schema {schema}) could not be erased: {exc}"
        ) from exc


async def filed(conn: AsyncConnection[Any], query: Query, most: int) -> list[Filed]:
    """The requests ``query`` selects, newest first: those of its ids (which override the
    other filters), else those of its services (any when none) requested in its window."""
    async with conn.cursor(row_factory=class_row(Filed)) as cur:
        if query.ids:
            await cur.execute(
                "SELECT * FROM open311_requests WHERE service_request_id = ANY(%s)"
                " ORDER BY requested_at DESC, service_request_id LIMIT %s",
                (list(query.ids), most),
            )
        else:
            await cur.execute(
                "SELECT * FROM open311_requests WHERE requested_at BETWEEN %s AND %s"
                " AND (%s::text[] IS NULL OR service_code = ANY(%s::text[]))"
                " ORDER BY requested_at DESC, service_request_id",
                (query.start, query.end, *[list(query.service_codes) or None] * 2),
            )
        return await cur.fetchall()
