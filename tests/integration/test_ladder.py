"""The supervision ladder and the backlog end to end on the real stack: submissions →
``fengqiao process`` with its trigger → the projector → the queries, and a replay that equals
the live projection table by table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.decisions import BENIGN_SIGNAL_REJECTIONS
from domain.ladder import month_closes_between
from events.models import (
    LADDER_EVENT_TYPES,
    ActorRole,
    CaseNoticed,
    CaseParked,
    CaseSupervised,
    CaseUrged,
    DeadlineScheduled,
    Event,
    SubmissionRejected,
)
from events.topics import CASE_EVENTS, REJECTIONS
from projections import queries
from tests.integration.projection_helpers import ProjectionWorld, assert_replay_is_live
from tests.integration.workflow_helpers import (
    Record,
    WorkflowRun,
    outcomes_for,
    projected,
    start_in_city,
    workflow_run_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.workflow_world import case_log, env, lifecycle

pytestmark = pytest.mark.integration
CENTRE = (ActorRole.command_centre, "command-centre", "centre.street")
OVERDUE_SINCE = datetime(2026, 10, 5, 1, 30, tzinfo=UTC)  # Monday 09:30 in Shanghai


def _ladder(records: list[Record], case_id: str) -> list[Event]:
    return [
        r.event
        for r in case_log(records, case_id)
        if r.event is not None and r.event.event_type in LADDER_EVENT_TYPES
    ]


def test_the_ladder_and_the_backlog_from_submissions_to_queries(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    run = start_in_city(workflow_run(trigger_interval_s=0.5))
    late = lifecycle("case-ladder-late", OVERDUE_SINCE)[:3]  # dispatched, never claimed
    parked_case = lifecycle("case-ladder-parked", OVERDUE_SINCE)[:4]  # claimed, then parked
    park = CaseParked(
        envelope=env(OVERDUE_SINCE + timedelta(hours=3), *CENTRE),
        case_id="case-ladder-parked",
        reason="需列入明年改造计划，待资金落实",
        review_date=date(2027, 1, 31),
    )
    done = lifecycle("case-ladder-done", OVERDUE_SINCE)
    ids = run.submit([*late, *parked_case, park, *done])
    now = datetime.now(UTC)
    months = len(month_closes_between(OVERDUE_SINCE, now))  # closes since it fell due
    expected = 5 + 2 + months  # five urges (the policy's most), street and district, notices

    def climbed(records: list[Record]) -> bool:
        return outcomes_for(ids)(records) and len(_ladder(records, "case-ladder-late")) >= expected

    run.read([CASE_EVENTS, REJECTIONS], climbed)
    assert run.stop() == 0
    records = run.read([CASE_EVENTS, REJECTIONS], climbed)

    steps = _ladder(records, "case-ladder-late")
    assert Counter(e.event_type for e in steps) == {
        "CaseUrged": 5,
        "CaseSupervised": 2,
        "CaseNoticed": months,
    }
    urges = [e for e in steps if isinstance(e, CaseUrged)]
    assert [u.urge_number for u in urges] == [1, 2, 3, 4, 5]
    assert len({u.envelope.event_id for u in urges}) == 5  # each once, however often sent
    (claim,) = [
        r.event
        for r in case_log(records, "case-ladder-late")
        if isinstance(r.event, DeadlineScheduled)
    ]
    assert all(e.envelope.event_time > claim.due_time for e in steps)
    assert all(e.envelope.event_time < now for e in steps)  # instants from the log, not the clock
    notices = [e for e in steps if isinstance(e, CaseNoticed)]
    assert [n.envelope.event_time for n in notices] == [
        close for _, close in month_closes_between(claim.due_time, now)
    ]
    assert {n.supervision_level for n in notices} == {"district"}
    supervised = [e for e in steps if isinstance(e, CaseSupervised)]
    assert [s.level for s in supervised] == ["street", "district"]
    assert _ladder(records, "case-ladder-parked") == []  # its clock stopped
    assert _ladder(records, "case-ladder-done") == []
    refused = {r.event.code for r in records if isinstance(r.event, SubmissionRejected)}
    assert refused <= BENIGN_SIGNAL_REJECTIONS  # only a trigger that was ahead of the log

    # the projector over the workflow's own canonical log, its schemas dropped after
    with projected(run) as (world, live):
        _query(world, notices, months)
        assert_replay_is_live(world, live)


def _query(world: ProjectionWorld, notices: list[CaseNoticed], months: int) -> None:
    projection = world.settings.projection
    with world.conn() as conn:
        ladder = queries.case_ladder(conn, projection)
        assert [(r["case_id"], r["step"]) for r in ladder.rows] == [
            ("case-ladder-late", "noticed" if months else "supervised_district")
        ]
        (row,) = ladder.rows
        assert (row["urges"], row["supervision_level"], row["notices"]) == (5, "district", months)
        now_rows = queries.ladder_now(conn, projection, "department")
        (dept,) = now_rows.rows
        assert (dept["overdue"], dept["urged"], dept["supervised_district"], dept["parked"]) == (
            1,
            1,
            1,
            1,
        )
        (parked,) = queries.backlog(conn, projection).rows
        assert (parked["case_id"], parked["review_date"]) == (
            "case-ladder-parked",
            date(2027, 1, 31),
        )
        if months:
            period = notices[-1].period
            (listed,) = queries.notice(conn, projection, period, "district").rows
            assert (listed["overdue"], listed["supervised_district"], listed["urges"]) == (1, 1, 5)
        stats = queries.statistics(
            conn, projection, "department", "month", date(2026, 10, 1), date(2027, 1, 1)
        )
        totals: Counter[str] = Counter()
        for r in stats.rows:
            for metric in ("urges", "supervised_street", "supervised_district", "parked"):
                totals[metric] += r[metric]
        assert totals == {"urges": 5, "supervised_street": 1, "supervised_district": 1, "parked": 1}
        assert ladder.complete_to is not None
