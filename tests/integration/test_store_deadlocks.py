"""A batch that PostgreSQL ends as a deadlock's victim is written again, whole, not lost: two
writers taking the same two counter rows in opposite orders (as replay workers sharing a
schema do with the city's rows) both commit, and every addition is counted once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import psycopg.errors
import pytest
from psycopg import sql

from infra.settings import ConnectionSettings
from projections.store import retrying_deadlocks

pytestmark = pytest.mark.integration


@pytest.fixture
def counters(
    connection_settings: ConnectionSettings, unique_name: Callable[[str], str]
) -> Iterator[tuple[str, str]]:
    dsn = connection_settings.pg_dsn.get_secret_value()
    schema = unique_name("deadlock")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL("CREATE TABLE {} (code text PRIMARY KEY, n bigint NOT NULL)").format(
                sql.Identifier(schema, "counters")
            )
        )
        conn.execute(
            sql.SQL("INSERT INTO {} VALUES ('city', 0), ('district', 0)").format(
                sql.Identifier(schema, "counters")
            )
        )
    yield dsn, schema
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _adder(
    conn: psycopg.Connection[Any], schema: str, order: tuple[str, str], both_hold: threading.Barrier
) -> Callable[[], None]:
    """One batch: add 1 to each row, in ``order``, waiting after the first until the other
    writer holds its first row too (only on the first attempt: a retry must get through)."""
    first_attempt = [True]
    add = sql.SQL("UPDATE {} SET n = n + 1 WHERE code = %s").format(
        sql.Identifier(schema, "counters")
    )

    def work() -> None:
        conn.execute(add, (order[0],))
        if first_attempt[0]:
            first_attempt[0] = False
            both_hold.wait(10)
        conn.execute(add, (order[1],))

    return work


def test_a_deadlocked_batch_is_written_again_and_both_commit(counters: tuple[str, str]) -> None:
    dsn, schema = counters
    both_hold = threading.Barrier(2)
    attempts: dict[str, int] = {}
    failures: list[BaseException] = []

    def writer(name: str, order: tuple[str, str]) -> None:
        try:
            with psycopg.connect(dsn) as conn:
                conn.execute("SET deadlock_timeout = '100ms'")
                conn.commit()
                attempts[name] = retrying_deadlocks(conn, _adder(conn, schema, order, both_hold))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [
        threading.Thread(target=writer, args=("a", ("city", "district"))),
        threading.Thread(target=writer, args=("b", ("district", "city"))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not failures, failures
    # One of the two was the victim and went again; each row got both additions, once each.
    assert sorted(attempts.values()) == [1, 2]
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            sql.SQL("SELECT code, n FROM {} ORDER BY code").format(
                sql.Identifier(schema, "counters")
            )
        ).fetchall()
    assert rows == [("city", 2), ("district", 2)]


def test_a_batch_still_deadlocked_after_its_attempts_raises(
    connection_settings: ConnectionSettings,
) -> None:
    dsn = connection_settings.pg_dsn.get_secret_value()
    calls = []

    def victim() -> None:
        calls.append(1)
        raise psycopg.errors.DeadlockDetected("deadlock detected")

    with psycopg.connect(dsn) as conn, pytest.raises(psycopg.errors.DeadlockDetected):
        retrying_deadlocks(conn, victim, attempts=3)
    assert len(calls) == 3


def test_any_other_refusal_is_not_retried(connection_settings: ConnectionSettings) -> None:
    dsn = connection_settings.pg_dsn.get_secret_value()
    calls = []
    with psycopg.connect(dsn) as conn:

        def bad() -> None:
            calls.append(1)
            conn.execute("SELECT * FROM no_such_table_anywhere")

        with pytest.raises(psycopg.errors.UndefinedTable):
            retrying_deadlocks(conn, bad)
    assert len(calls) == 1
