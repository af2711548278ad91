"""A projection schema's shape against this code's read models: a schema made now has them
all; one missing a table or a column of one, or not there at all, lacks them (and is replayed
anew rather than projected on)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from projections.settings import ProjectorSettings
from projections.store import connect, create_schema
from projections.tables import READ_MODELS
from projections.versions import lacks_read_models


@pytest.fixture
def schema(unique_name: Callable[[str], str]) -> Iterator[tuple[psycopg.Connection[Any], str]]:
    """A schema made by this code's ``create_schema``, dropped afterwards."""
    name = unique_name("shape")
    conn = connect(ProjectorSettings().pg_dsn.get_secret_value())
    conn.autocommit = True
    create_schema(conn, name)
    try:
        yield conn, name
    finally:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
        conn.close()


def test_a_schema_made_now_lacks_nothing(schema: tuple[psycopg.Connection[Any], str]) -> None:
    conn, name = schema
    assert lacks_read_models(conn, name) is False


def test_a_schema_without_one_read_model_lacks_it(
    schema: tuple[psycopg.Connection[Any], str],
) -> None:
    conn, name = schema
    assert "case_locations" in READ_MODELS
    conn.execute(sql.SQL("DROP TABLE {}.case_locations").format(sql.Identifier(name)))
    assert lacks_read_models(conn, name) is True


def test_a_schema_without_one_column_of_a_read_model_lacks_it(
    schema: tuple[psycopg.Connection[Any], str],
) -> None:
    conn, name = schema
    conn.execute(
        sql.SQL("ALTER TABLE {}.case_locations DROP COLUMN reported_at").format(
            sql.Identifier(name)
        )
    )
    assert lacks_read_models(conn, name) is True


def test_a_schema_that_does_not_exist_lacks_every_read_model(
    schema: tuple[psycopg.Connection[Any], str], unique_name: Callable[[str], str]
) -> None:
    conn, _ = schema
    assert lacks_read_models(conn, unique_name("never_made")) is True
