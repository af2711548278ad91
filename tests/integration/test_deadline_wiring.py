"""Deadlines and resolutions through the whole wiring: submissions decided by ``fengqiao
process``, the canonical log replayed by ``fengqiao replay``, the read models queried.

A history backfilled with the trigger off counts the same breaches, on the same day, as the
same history run with the trigger live, whose breach is dated at the due time; a reworked case
is resolved once in the statistics, the ``resolutions`` table and ``handling_hist``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from domain.decisions import BENIGN_SIGNAL_REJECTIONS
from events.models import (
    ActorRole,
    CaseEvent,
    CaseResolved,
    CaseVerified,
    DeadlineBreached,
    SubmissionRejected,
)
from events.topics import CASE_EVENTS, REJECTIONS
from infra.settings import ConnectionSettings
from tests.integration.projection_helpers import ProjectionWorld
from tests.integration.workflow_helpers import (
    Record,
    WorkflowRun,
    start_in_city,
    workflow_run_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.workflow_world import DEPARTMENT, case_log, env, lifecycle

pytestmark = pytest.mark.integration
LATE = timedelta(days=3)  # the claim comes three days after the dispatch: its deadline breached


def late_and_reworked(case_id: str) -> list[CaseEvent]:
    """report, accept, dispatch; three days later claim, resolve, fail verification, resolve
    again, verify, close."""
    report, accept, dispatch, claim, resolve, verify, close, _ = lifecycle(case_id)
    dept = (ActorRole.department, f"{DEPARTMENT}-desk", f"dept.{DEPARTMENT}")
    worker = verify.envelope.actor.id
    t = resolve.envelope.event_time + LATE
    later = [
        e.model_copy(
            update={
                "envelope": e.envelope.model_copy(
                    update={
                        "event_time": e.envelope.event_time + LATE,
                        "recorded_time": e.envelope.recorded_time + LATE,
                    }
                )
            }
        )
        for e in (claim, resolve)
    ]
    failed = CaseVerified(
        envelope=env(t + timedelta(hours=1), ActorRole.grid_worker, worker, "gridapp"),
        case_id=case_id,
        passed=False,
        worker_id=worker,
    )
    again = CaseResolved(
        envelope=env(t + timedelta(hours=2), *dept),
        case_id=case_id,
        department_code=DEPARTMENT,
        resolution="返工后已清理",
    )
    passed = verify.model_copy(
        update={"envelope": env(t + timedelta(hours=3), ActorRole.grid_worker, worker, "gridapp")}
    )
    closed = close.model_copy(
        update={
            "envelope": close.envelope.model_copy(
                update={
                    "event_time": t + timedelta(hours=4),
                    "recorded_time": t + timedelta(hours=4),
                }
            )
        }
    )
    return [report, accept, dispatch, *later, failed, again, passed, closed]


@pytest.fixture
def replayed(
    connection_settings: ConnectionSettings,
) -> Iterator[Callable[[WorkflowRun], tuple[ProjectionWorld, str]]]:
    """Replays a run's canonical log with ``fengqiao replay`` into a schema of its own."""
    worlds: list[ProjectionWorld] = []

    def replay(run: WorkflowRun) -> tuple[ProjectionWorld, str]:
        world = ProjectionWorld(connection_settings, run.app_id)
        worlds.append(world)
        schema = f"{run.app_id}_replay"[:60]
        world.schemas.append(schema)
        result = world.fengqiao("replay", "--into", schema)
        assert result.returncode == 0, result.stderr
        return world, schema

    yield replay
    for world in worlds:
        world.cleanup()


def _rows(world: ProjectionWorld, schema: str, query: str) -> list[tuple[Any, ...]]:
    with world.conn() as c:
        c.execute(f'SET search_path TO "{schema}"')
        return c.execute(query).fetchall()


def _counted(world: ProjectionWorld, schema: str, metric: str) -> dict[tuple[str, date], int]:
    rows = _rows(
        world,
        schema,
        f"SELECT level, day, sum({metric})::bigint FROM stats_daily "
        f"WHERE {metric} <> 0 GROUP BY 1, 2",
    )
    return {(level, day): n for level, day, n in rows}


def _decided(run: WorkflowRun, ids: list[str]) -> list[Record]:
    records = run.decided(ids)
    # A live trigger's signal that reached the case after it moved on is refused as stale:
    # that only says the trigger's view was behind. Any other refusal is a fault.
    refused = [r for r in records if r.topic == REJECTIONS]
    assert [
        r
        for r in refused
        if not isinstance(r.event, SubmissionRejected)
        or r.event.code not in BENIGN_SIGNAL_REJECTIONS
    ] == []
    return records


def test_breaches_and_a_rework_count_the_same_with_the_trigger_live_or_off(
    workflow_run: Callable[..., WorkflowRun],
    replayed: Callable[[WorkflowRun], tuple[ProjectionWorld, str]],
) -> None:
    events = late_and_reworked("case-late-rework")
    off = start_in_city(workflow_run())  # a backfill: the trigger off
    _decided(off, off.submit(events))

    live = start_in_city(workflow_run(trigger_interval_s=0.5))
    _decided(live, live.submit(events[:3]))
    # the trigger breaches the claim before the department posts the rest
    live.read([CASE_EVENTS], lambda rs: any(isinstance(r.event, DeadlineBreached) for r in rs))
    records = _decided(live, live.submit(events[3:]))
    (signal,) = {
        r.event.envelope.event_id: r.event
        for r in case_log(records, "case-late-rework")
        if isinstance(r.event, DeadlineBreached)
    }.values()
    assert signal.envelope.event_time == signal.due_time  # not when the trigger noticed it

    answers = []
    for run in (off, live):
        world, schema = replayed(run)
        breaches = _counted(world, schema, "breaches")
        resolved = _counted(world, schema, "resolved")
        assert sum(n for (level, _), n in breaches.items() if level == "department") == 1
        assert sum(n for (level, _), n in resolved.items() if level == "department") == 1
        assert _rows(world, schema, "SELECT count(*) FROM resolutions") == [(1,)]
        assert _rows(
            world,
            schema,
            "SELECT period, sum(resolutions)::bigint FROM handling_hist "
            "WHERE level = 'department' GROUP BY 1 ORDER BY 1",
        ) == [("2025-03", 1), ("2025-Q1", 1)]
        on_time = _rows(world, schema, "SELECT on_time FROM cases")
        answers.append((breaches, resolved, on_time))
    assert answers[0] == answers[1]
    assert answers[0][2] == [(False,)]
