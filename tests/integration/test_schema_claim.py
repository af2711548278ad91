"""A projector's claim on its schema: one writer a schema (or a share of it), and the move to
the schema a promotion made active, on the real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from projections.errors import ProjectionError
from projections.schema_claim import SchemaClaim, claim_key, resume
from projections.settings import ProjectorSettings
from projections.store import use_schema
from projections.versions import live_schema, mark_ready, new_replay_schema, promote

Connect = Callable[[], psycopg.Connection[Any]]


@pytest.fixture
def connect() -> Iterator[Connect]:
    dsn = ProjectorSettings().pg_dsn.get_secret_value()
    opened: list[psycopg.Connection[Any]] = []

    def make() -> psycopg.Connection[Any]:
        opened.append(psycopg.connect(dsn))
        return opened[-1]

    yield make
    for conn in opened:
        conn.close()


@pytest.fixture
def projection(connect: Connect) -> Iterator[str]:
    name = f"claim{uuid.uuid4().hex[:8]}"
    yield name
    with connect() as conn:
        conn.execute("DELETE FROM fq_meta.active_projection WHERE projection = %s", (name,))
        rows = conn.execute(
            "DELETE FROM fq_meta.projection_schemas WHERE projection = %s RETURNING schema_name",
            (name,),
        ).fetchall()
        for (schema,) in rows:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _current_schema(conn: psycopg.Connection[Any]) -> str:
    (schema,) = conn.execute("SELECT current_schema()").fetchone() or ("",)
    conn.commit()
    return str(schema)


def _projecting_live(
    conn: psycopg.Connection[Any], projection: str
) -> tuple[SchemaClaim, str, str]:
    """A claim on the projection's live schema, which ``conn`` writes, and a finished replay
    beside it, ready to promote."""
    live = live_schema(conn, projection)
    replayed = new_replay_schema(conn, projection, None)
    mark_ready(conn, replayed)
    use_schema(conn, live)
    claim = SchemaClaim(conn)
    claim.take(live)
    return claim, live, replayed


def test_the_claim_key_names_the_share_only_when_the_schema_is_shared() -> None:
    assert claim_key("fq_city_r2") == "fengqiao-projector/fq_city_r2"
    assert claim_key("fq_city_r2", (1, 3)) == "fengqiao-projector/fq_city_r2#1/3"


def test_one_claim_a_schema_share_until_released_or_its_connection_ends(connect: Connect) -> None:
    schema = f"fq_claim{uuid.uuid4().hex[:8]}"
    first, second = SchemaClaim(connect()), SchemaClaim(connect())
    first.take(schema)
    with pytest.raises(ProjectionError, match=f"another projector is writing schema {schema}"):
        second.take(schema)
    first.release(schema)
    second.take(schema)  # released: another may claim it
    ending = connect()
    SchemaClaim(ending, (0, 2)).take(schema)
    SchemaClaim(connect(), (1, 2)).take(schema)  # the other share is free
    with pytest.raises(ProjectionError):
        SchemaClaim(connect(), (0, 2)).take(schema)
    ending.close()  # however the process ends, its session's claims go with it
    SchemaClaim(connect(), (0, 2)).take(schema)


def test_following_moves_the_claim_and_the_connection_to_the_promoted_schema(
    connect: Connect, projection: str
) -> None:
    conn = connect()
    claim, live, replayed = _projecting_live(conn, projection)
    assert claim.follow(projection, live) is None  # still the one that serves
    promote(conn, projection, replayed)
    assert claim.follow(projection, live) == replayed
    assert _current_schema(conn) == replayed
    with pytest.raises(ProjectionError, match=replayed):
        SchemaClaim(connect()).take(replayed)
    SchemaClaim(connect()).take(live)  # let go of


def test_a_promoted_schema_claimed_elsewhere_is_not_followed_and_the_own_claim_is_kept(
    connect: Connect, projection: str
) -> None:
    conn = connect()
    claim, live, replayed = _projecting_live(conn, projection)
    SchemaClaim(connect()).take(replayed)
    promote(conn, projection, replayed)
    with pytest.raises(ProjectionError, match=f"another projector is writing schema {replayed}"):
        claim.follow(projection, live)
    with pytest.raises(ProjectionError, match=live):
        SchemaClaim(connect()).take(live)
    assert _current_schema(conn) == live


def test_a_schema_without_cases_resumes_fresh_from_no_position(
    connect: Connect, projection: str
) -> None:
    conn = connect()
    live = live_schema(conn, projection)
    use_schema(conn, live)
    resumed = resume(conn)
    assert (resumed.positions, resumed.visit_sequences, resumed.fresh) == ({}, {}, True)
