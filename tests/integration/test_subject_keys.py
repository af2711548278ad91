"""The key store over its owner's connections: a pool shared by threads (one key per subject
however many seal at once), one connection for a one-shot command, and the failures of both
as the key store's ``InfrastructureError``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import ConnectionPool

from events.errors import InfrastructureError
from events.subject_keys import SubjectKeys
from infra.settings import ConnectionSettings

pytestmark = pytest.mark.integration

DETAILS = {"name": "王小明", "phone": "13800138000"}


@pytest.fixture
def dsn(connection_settings: ConnectionSettings) -> str:
    return connection_settings.pg_dsn.get_secret_value()


@pytest.fixture
def schema(dsn: str, unique_name: Callable[[str], str]) -> Iterator[str]:
    name = unique_name("keys")[:60].lower().replace("-", "_")
    yield name
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def pool(dsn: str) -> Iterator[ConnectionPool[psycopg.Connection[Any]]]:
    with ConnectionPool(dsn, min_size=1, max_size=4, timeout=5) as opened:
        yield opened


def test_threads_sealing_over_a_pool_give_each_subject_one_key(
    pool: ConnectionPool[psycopg.Connection[Any]], schema: str
) -> None:
    keys = SubjectKeys(pool, schema)
    subjects = [f"resident-{i % 5}" for i in range(40)]
    with ThreadPoolExecutor(8) as threads:
        sealed = list(threads.map(lambda s: keys.seal(s, DETAILS), subjects))
    assert {(s.subject_id, s.key_id) for s in sealed} == {
        (s, next(d.key_id for d in sealed if d.subject_id == s)) for s in set(subjects)
    }
    assert all(keys.open(s) == DETAILS for s in sealed)
    assert keys.erase("resident-0", "test") == 1
    assert [keys.open(s) for s in sealed if s.subject_id == "resident-0"] == [None] * 8
    stats = pool.get_stats()
    # 40 seals, 40 opens and an erasure borrowed the pool's connections, opening none more.
    assert stats["requests_num"] >= 81 and stats["connections_num"] <= 4, stats


def test_one_connection_serves_a_one_shot_command_and_is_closed_after(
    dsn: str, schema: str
) -> None:
    with SubjectKeys.connect(dsn, schema) as keys:
        sealed = keys.seal("resident-1", DETAILS)
        assert keys.open(sealed) == DETAILS
        conn = keys.connections
    assert isinstance(conn, psycopg.Connection) and conn.closed
    with SubjectKeys.connect(dsn, schema) as again:  # committed, seen by the next command
        assert again.open(sealed) == DETAILS


def test_no_free_pooled_connection_is_an_infrastructure_error(dsn: str, schema: str) -> None:
    with ConnectionPool(dsn, min_size=1, max_size=1, timeout=0.5) as small:
        keys = SubjectKeys(small, schema)
        with small.connection(), pytest.raises(InfrastructureError, match="key store") as caught:
            keys.seal("resident-1", DETAILS)
    assert "PoolTimeout" in type(caught.value.__cause__).__name__


def test_a_lost_connection_is_an_infrastructure_error(dsn: str, schema: str) -> None:
    with SubjectKeys.connect(dsn, schema) as keys:
        keys.seal("resident-1", DETAILS)
        assert isinstance(keys.connections, psycopg.Connection)
        keys.connections.close()
        with pytest.raises(InfrastructureError, match="key store"):
            keys.seal("resident-1", DETAILS)


def test_an_unreachable_server_is_an_infrastructure_error() -> None:
    unreachable = "postgresql://fengqiao:fengqiao@127.0.0.1:1/fengqiao"
    with pytest.raises(InfrastructureError, match="FQ_PG_DSN"), SubjectKeys.connect(unreachable):
        pass
