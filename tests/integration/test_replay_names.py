"""A replay's schema is named after the ones its projection has, never one it still has."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from projections.settings import ProjectorSettings
from projections.versions import new_replay_schema


@pytest.fixture
def db() -> Iterator[psycopg.Connection[Any]]:
    dsn = ProjectorSettings().pg_dsn.get_secret_value()
    with psycopg.connect(dsn, autocommit=True) as conn:
        yield conn


def _drop(conn: psycopg.Connection[Any], schema: str) -> None:
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    conn.execute("DELETE FROM fq_meta.projection_schemas WHERE schema_name = %s", (schema,))


def test_a_replay_after_a_dropped_one_takes_a_number_not_in_use(
    db: psycopg.Connection[Any],
) -> None:
    projection = f"names{uuid.uuid4().hex[:8]}"
    made: list[str] = []
    try:
        made += [new_replay_schema(db, projection, None) for _ in range(3)]
        assert made == [f"fq_{projection}_r{n}" for n in (1, 2, 3)]
        _drop(db, made[0])  # two left: counting them would name the next r3 again
        made.append(new_replay_schema(db, projection, None))
        assert made[-1] == f"fq_{projection}_r4"
    finally:
        for schema in made:
            _drop(db, schema)
