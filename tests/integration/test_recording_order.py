"""Recording times through ``fengqiao process`` and ``fengqiao replay --until``: a step
recorded before it happened is refused with RECORDED_BEFORE_EVENT, and a step recorded earlier
than the case's previous step (two systems' clocks) is stamped in recording order, so a replay
of the city as known at an instant between them reads a prefix of the case, not a gap that
dead-letters the rest of it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from events.models import Event, SubmissionRejected
from infra.settings import ConnectionSettings
from tests.integration.projection_helpers import ProjectionWorld
from tests.integration.workflow_helpers import (
    WorkflowRun,
    start_in_city,
    workflow_run_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.workflow_world import T0, case_log, lifecycle

pytestmark = pytest.mark.integration


def _times(event: Event, happened: timedelta, recorded: timedelta) -> Event:
    envelope = event.envelope.model_copy(
        update={
            "event_id": str(uuid.uuid4()),
            "event_time": T0 + happened,
            "recorded_time": T0 + recorded,
        }
    )
    return event.model_copy(update={"envelope": envelope})


@pytest.fixture
def world(
    connection_settings: ConnectionSettings,
    workflow_run: Callable[..., WorkflowRun],
) -> Iterator[tuple[WorkflowRun, ProjectionWorld]]:
    run = workflow_run()
    world = ProjectionWorld(connection_settings, run.app_id)
    try:
        yield run, world
    finally:
        world.cleanup()


def test_an_until_replay_reads_a_prefix_of_a_case_whose_recordings_crossed(
    world: tuple[WorkflowRun, ProjectionWorld],
) -> None:
    run, projection = world
    start_in_city(run)
    report, accept, dispatch, *_ = lifecycle("case-crossed")
    steps = [
        _times(report, timedelta(0), timedelta(minutes=1)),
        _times(accept, timedelta(minutes=30), timedelta(days=5)),  # posted five days late
        _times(dispatch, timedelta(hours=1), timedelta(hours=1, minutes=5)),  # by another clock
    ]
    early_report = _times(report, timedelta(hours=2), timedelta(hours=1))  # before it happened
    early_report = early_report.model_copy(update={"case_id": "case-early"})
    ids = run.submit([*steps, early_report])
    records = run.decided(ids)

    (refused,) = [r.event for r in records if isinstance(r.event, SubmissionRejected)]
    assert refused.code == "RECORDED_BEFORE_EVENT"
    assert refused.submission_event_id == early_report.envelope.event_id
    log = [r.event for r in case_log(records, "case-crossed") if r.event is not None]
    recorded = [e.envelope.recorded_time for e in log]
    assert recorded == sorted(recorded)
    assert log[-1].envelope.recorded_time == T0 + timedelta(days=5)

    schema = f"{run.app_id}_until"[:60]
    projection.schemas.append(schema)
    until = (T0 + timedelta(hours=2)).isoformat()
    result = projection.fengqiao("replay", "--into", schema, "--until", until)
    assert result.returncode == 0, result.stderr
    with projection.conn() as c:
        letters = c.execute(f'SELECT reason FROM "{schema}".dead_letters').fetchall()
        cases = c.execute(f'SELECT case_id, status FROM "{schema}".cases').fetchall()
    assert letters == []
    assert cases == [("case-crossed", "reported")]  # as known then: reported, nothing more
