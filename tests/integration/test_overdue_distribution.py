"""The overdue distribution (``queries.overdue_distribution``) on PostgreSQL: its buckets in
numeric order, "(4,8]" before "(16,40]", as the dashboard's panel counts them, then the
deadlines still open past due."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from infra.settings import ConnectionSettings
from projections import queries
from projections.panels.lateness import BUCKETS
from tests.integration.projection_helpers import ProjectionWorld

pytestmark = pytest.mark.integration
DUE = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


@pytest.fixture
def world(
    connection_settings: ConnectionSettings, unique_name: Callable[[str], str]
) -> Iterator[ProjectionWorld]:
    world = ProjectionWorld(connection_settings, unique_name("od"))
    try:
        yield world
    finally:
        world.cleanup()


def test_the_buckets_come_in_numeric_order(world: ProjectionWorld) -> None:
    schema = world.live_schema()
    late = {"a": 2.0, "b": 5.0, "c": 20.0, "d": 20.5, "e": 50.0, "f": 12.0}
    with world.conn() as c:
        c.execute(f'SET search_path TO "{schema}"')
        for deadline_id, hours in late.items():
            c.execute(
                "INSERT INTO deadlines (deadline_id, case_id, stage, due_time, done_at, "
                "lateness_hours, cancelled, paused) VALUES (%s, %s, 'handle', %s, %s, %s, "
                "false, false)",
                (deadline_id, f"case-{deadline_id}", DUE, DUE, hours),
            )
        c.execute(
            "INSERT INTO deadlines (deadline_id, case_id, stage, due_time, breached_at, "
            "cancelled, paused) VALUES ('g', 'case-g', 'claim', %s, %s, false, false)",
            (DUE, DUE),
        )
        c.commit()
        found = queries.overdue_distribution(c, world.settings.projection)
    assert [(r["bucket"], r["deadlines"]) for r in found.rows] == [
        ("(0,4]", 1),
        ("(4,8]", 1),
        ("(8,16]", 1),
        ("(16,40]", 2),
        (">40", 1),
        ("open past due", 1),
    ]
    assert [r["bucket"] for r in found.rows][:-1] == list(BUCKETS)
