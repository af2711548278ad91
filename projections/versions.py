"""Projection schemas and which one serves: the live schema, replays built beside it, and the
atomic switch between them (``promote``).

Each projection (``city`` by default) has any number of PostgreSQL schemas holding its read
models; ``fq_meta.active_projection`` names the one queries read. A replay builds a new
schema while the active one keeps serving; promoting it is one UPDATE, so a reader sees
either the old read models or the new ones, never a mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from projections.errors import NotPromotable, ProjectionError, UnknownProjection
from projections.store import create_schema, schema_columns
from projections.tables import READ_MODELS

__all__ = [
    "ProjectionSchema",
    "active_schema",
    "ensure_meta",
    "lacks_read_models",
    "list_schemas",
    "live_schema",
    "mark_ready",
    "new_replay_schema",
    "promote",
]

_META = """
CREATE SCHEMA IF NOT EXISTS fq_meta;
CREATE TABLE IF NOT EXISTS fq_meta.projection_schemas (
    schema_name text PRIMARY KEY,
    projection text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('live', 'replay')),
    until timestamptz,
    state text NOT NULL DEFAULT 'building' CHECK (state IN ('building', 'ready')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS fq_meta.active_projection (
    projection text PRIMARY KEY,
    schema_name text NOT NULL REFERENCES fq_meta.projection_schemas,
    promoted_at timestamptz NOT NULL DEFAULT now()
);
"""


@dataclass(frozen=True)
class ProjectionSchema:
    schema_name: str
    projection: str
    kind: str
    until: datetime | None
    state: str
    active: bool


def ensure_meta(conn: psycopg.Connection[Any]) -> None:
    """Create the meta tables if missing (safe when several processes start at once)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(72001)")
        conn.execute(_META)


def active_schema(conn: psycopg.Connection[Any], projection: str) -> str | None:
    """The schema the projection's queries read, if any."""
    row = conn.execute(
        "SELECT schema_name FROM fq_meta.active_projection WHERE projection = %s", (projection,)
    ).fetchone()
    return None if row is None else str(row[0])


def lacks_read_models(conn: psycopg.Connection[Any], schema: str) -> bool:
    """Whether ``schema`` was made by code with fewer read models than this code's, or fewer
    columns in one of them (a schema that does not exist lacks them all): such a schema is
    replayed anew rather than projected on."""
    wanted = {(t.name, column) for t in READ_MODELS.values() for column in t.column_names}
    return not wanted <= schema_columns(conn, schema)


def _register(
    conn: psycopg.Connection[Any], schema: str, projection: str, kind: str, until: datetime | None
) -> None:
    conn.execute(
        "INSERT INTO fq_meta.projection_schemas (schema_name, projection, kind, until) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (schema_name) DO NOTHING",
        (schema, projection, kind, until),
    )


def live_schema(conn: psycopg.Connection[Any], projection: str) -> str:
    """The active schema, or a new ``fq_<projection>_live`` made active when there is none."""
    ensure_meta(conn)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(72002)")
        schema = active_schema(conn, projection)
        if schema is None:
            schema = f"fq_{projection}_live"
            _register(conn, schema, projection, "live", None)
            conn.execute(
                "UPDATE fq_meta.projection_schemas SET state = 'ready' WHERE schema_name = %s",
                (schema,),
            )
            conn.execute(
                "INSERT INTO fq_meta.active_projection (projection, schema_name) VALUES (%s, %s)",
                (projection, schema),
            )
    create_schema(conn, schema)
    return schema


def new_replay_schema(
    conn: psycopg.Connection[Any], projection: str, until: datetime | None, name: str | None = None
) -> str:
    """Register and create an empty schema for a replay: ``name`` or ``fq_<projection>_r<n>``,
    without its secondary indexes, which ``replay`` builds at the end."""
    ensure_meta(conn)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(72002)")
        if name is None:
            taken = {
                n
                for (n,) in conn.execute(
                    "SELECT schema_name FROM fq_meta.projection_schemas WHERE projection = %s",
                    (projection,),
                ).fetchall()
            }
            # the next number after as many as are registered, past any a dropped one freed
            number = len(taken) + 1
            while f"fq_{projection}_r{number}" in taken:
                number += 1
            name = f"fq_{projection}_r{number}"
        exists = conn.execute(
            "SELECT 1 FROM fq_meta.projection_schemas WHERE schema_name = %s", (name,)
        ).fetchone()
        if exists:
            raise ProjectionError(f"schema {name} already exists; choose another name or drop it")
        _register(conn, name, projection, "replay", until)
    create_schema(conn, name, indexes=False)  # the replay builds them when it ends
    return name


def mark_ready(conn: psycopg.Connection[Any], schema: str) -> None:
    with conn.transaction():
        conn.execute(
            "UPDATE fq_meta.projection_schemas SET state = 'ready' WHERE schema_name = %s",
            (schema,),
        )


def list_schemas(conn: psycopg.Connection[Any], projection: str) -> list[ProjectionSchema]:
    """Every schema of the projection, oldest first, the active one flagged."""
    ensure_meta(conn)
    with conn.transaction():
        return _schemas(conn, projection)


def _schemas(conn: psycopg.Connection[Any], projection: str) -> list[ProjectionSchema]:
    rows = conn.execute(
        "SELECT s.schema_name, s.projection, s.kind, s.until, s.state, "
        "a.schema_name IS NOT NULL FROM fq_meta.projection_schemas s "
        "LEFT JOIN fq_meta.active_projection a ON a.schema_name = s.schema_name "
        "WHERE s.projection = %s ORDER BY s.created_at, s.schema_name",
        (projection,),
    ).fetchall()
    return [ProjectionSchema(*r) for r in rows]


def promote(conn: psycopg.Connection[Any], projection: str, schema: str) -> str | None:
    """Make ``schema`` the one the projection's queries read; returns the one it replaces.

    Raises:
        UnknownProjection: no such schema for this projection.
        NotPromotable: the replay has not finished, or stops at a point in time (an as-of
            snapshot cannot follow the live log).
    """
    ensure_meta(conn)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(72002)")
        row = conn.execute(
            "SELECT until, state FROM fq_meta.projection_schemas "
            "WHERE schema_name = %s AND projection = %s",
            (schema, projection),
        ).fetchone()
        if row is None:
            known = [s.schema_name for s in _schemas(conn, projection)]
            raise UnknownProjection(
                f"projection {projection} has no schema {schema}; known: {', '.join(known) or 'none'}"
            )
        until, state = row
        if until is not None:
            raise NotPromotable(
                f"{schema} is the city as known at {until.isoformat()}: a snapshot for analysis, "
                "it cannot follow the live log; replay without --until to promote"
            )
        if state != "ready":
            raise NotPromotable(f"{schema} is still being built; promote it when its replay ends")
        previous = active_schema(conn, projection)
        conn.execute(
            "INSERT INTO fq_meta.active_projection (projection, schema_name) VALUES (%s, %s) "
            "ON CONFLICT (projection) DO UPDATE SET schema_name = EXCLUDED.schema_name, "
            "promoted_at = now()",
            (projection, schema),
        )
    return previous
