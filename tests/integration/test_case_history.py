"""``fengqiao case history`` on the real stack: it reads the case log under
``FQ_TOPIC_PREFIX``, from the case's first record as the projection recorded it (a record of
the same key earlier in the partition, undecodable, is never read), and without a projection
that knows the case from the partition's beginning."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from events.topics import CASE_EVENTS, REJECTIONS
from infra.settings import ConnectionSettings
from tests.integration.projection_helpers import ProjectionWorld
from tests.integration.workflow_helpers import (
    WorkflowRun,
    start_in_city,
    workflow_run_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.workflow_world import lifecycle

pytestmark = pytest.mark.integration
CASE = "case-history-1"


@pytest.fixture
def decided(
    connection_settings: ConnectionSettings, workflow_run: Callable[..., WorkflowRun]
) -> Iterator[ProjectionWorld]:
    """A case decided by the workflow on prefixed topics, after a stray record of its key."""
    run = workflow_run()
    world = ProjectionWorld(connection_settings, run.app_id)
    try:
        run.produce(CASE_EVENTS, CASE.encode(), b"not an event")  # offset 0 of its partition
        run.flush()
        start_in_city(run)
        ids = run.submit(lifecycle(CASE))
        records = run.decided(ids)
        assert not [r for r in records if r.topic == REJECTIONS]
        yield world
    finally:
        world.cleanup()


def test_history_reads_the_prefixed_log_from_the_projected_first_record(
    decided: ProjectionWorld,
) -> None:
    world = decided
    world.project(world.live_schema())
    with world.conn() as c:
        (first,) = c.execute(
            f'SELECT min(log_offset) FROM "{world.live_schema()}".case_timeline WHERE case_id = %s',
            (CASE,),
        ).fetchone()  # type: ignore[misc]
    assert first == 1  # after the stray record

    result = world.fengqiao("case", "history", CASE, COLUMNS="400")  # rich: no wrapping
    assert result.returncode == 0, result.stderr
    for event_type in ("CaseReported", "DeadlineScheduled", "CaseClosed", "CaseEvaluated"):
        assert event_type in result.stdout


def test_without_a_projection_history_reads_the_partition_from_its_beginning(
    decided: ProjectionWorld,
) -> None:
    result = decided.fengqiao("case", "history", CASE)
    assert result.returncode == 1  # the stray record of the case's key cannot be decoded
    assert "no projection to start from" in " ".join(result.stderr.split())
