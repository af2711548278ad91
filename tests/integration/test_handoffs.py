"""Arbitration of hand-offs (推诿) end to end on the real stack: a department's request and the
command centre's ruling through ``fengqiao process`` with its trigger, the re-dispatch and the
resolution, the projector's case rows, counters and flag, the queries and the overview panel,
and a replay equal to the live projection table by table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.decisions import BENIGN_SIGNAL_REJECTIONS
from events.models import (
    ActorRole,
    CaseClaimed,
    CaseClosed,
    CaseEvent,
    CaseResolved,
    DeadlineScheduled,
    HandoffRequested,
    HandoffRuled,
    SubmissionRejected,
)
from projections import queries
from projections.panels import case, handoffs, kpis, overview
from projections.panels.periods import Period
from projections.panels.scope import CITY, WHOLE_CITY, Unit
from tests.integration.projection_helpers import ProjectionWorld, assert_replay_is_live
from tests.integration.workflow_helpers import (
    Record,
    WorkflowRun,
    projected,
    start_in_city,
    workflow_run_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.workflow_world import case_log, env, lifecycle

pytestmark = pytest.mark.integration
CENTRE = (ActorRole.command_centre, "command-centre", "centre.street")
LAW, MARKET = "law-enforcement", "market-supervision"
T0 = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)  # Monday 09:30 in Shanghai


def _dept(code: str) -> tuple[ActorRole, str, str]:
    return ActorRole.department, f"{code}-desk", f"dept.{code}"


def _ask(case_id: str, at: datetime, dept: str, owner: str | None = None) -> HandoffRequested:
    return HandoffRequested(
        envelope=env(at, *_dept(dept)),
        case_id=case_id,
        department_code=dept,
        reason="不属本部门职责",
        suggested_department=owner,
    )


def _rule(case_id: str, at: datetime, request: HandoffRequested, owner: str | None) -> HandoffRuled:
    return HandoffRuled(
        envelope=env(at, *CENTRE),
        case_id=case_id,
        request_id=request.envelope.event_id,
        upheld=owner is not None,
        department_code=owner,
        comment="按职责清单裁定",
    )


def _handed_off(case_id: str, start: datetime, twice: bool) -> tuple[list[CaseEvent], list[str]]:
    """Dispatched to LAW, which asks; upheld to MARKET; when ``twice`` MARKET asks too (its
    claim meanwhile refused, as the case waits, and its own ruling refused, as only the centre
    rules) and is refused; MARKET resolves and the case closes.
    The submissions, and the event ids meant to be refused."""
    at = [start + timedelta(hours=h) for h in (1.5, 2, 2.5, 2.6, 3, 4, 6, 8, 8.5)]
    reported, accepted, dispatched, *_ = lifecycle(case_id, start)
    verified, closed = lifecycle(case_id, start)[5:7]
    first = _ask(case_id, at[0], LAW, MARKET)
    out: list[CaseEvent] = [reported, accepted, dispatched, first]
    out.append(_rule(case_id, at[1], first, MARKET))
    refused: list[str] = []
    if twice:
        second = _ask(case_id, at[2], MARKET)
        early = CaseClaimed(
            envelope=env(at[3], *_dept(MARKET)), case_id=case_id, department_code=MARKET
        )
        own = _rule(case_id, at[3], second, None).model_copy(
            update={"envelope": env(at[3], *_dept(MARKET))}
        )
        out += [second, early, own, _rule(case_id, at[4], second, None)]
        refused += [early.envelope.event_id, own.envelope.event_id]
    claim = CaseClaimed(
        envelope=env(at[5], *_dept(MARKET)), case_id=case_id, department_code=MARKET
    )
    resolve = CaseResolved(
        envelope=env(at[6], *_dept(MARKET)),
        case_id=case_id,
        department_code=MARKET,
        resolution="已依法处置",
    )
    verify = verified.model_copy(update={"envelope": env(at[7], *_who(verified))})
    close = closed.model_copy(update={"envelope": env(at[8], *CENTRE)})
    return [*out, claim, resolve, verify, close], refused


def _who(event: CaseEvent) -> tuple[ActorRole, str, str]:
    actor = event.envelope.actor
    return actor.role, actor.id, event.envelope.source_system


def test_a_hand_off_from_request_to_resolution_and_its_counts(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    run = start_in_city(workflow_run(trigger_interval_s=0.5))
    once, none_refused = _handed_off("case-handoff-once", T0, twice=False)
    twice, refused = _handed_off("case-handoff-twice", T0 + timedelta(days=1), twice=True)
    assert none_refused == []
    ids = run.submit([*once, *twice])
    records = run.decided(ids)
    assert run.stop() == 0

    rejections = {
        r.event.submission_event_id: r.event.code
        for r in records
        if isinstance(r.event, SubmissionRejected)
    }
    mine = {k: v for k, v in rejections.items() if v not in BENIGN_SIGNAL_REJECTIONS}
    assert mine == {refused[0]: "HANDOFF_PENDING", refused[1]: "NOT_COMMAND_CENTRE"}
    log = [r.event for r in case_log(records, "case-handoff-once") if r.event is not None]
    kinds = [e.event_type for e in log]
    ruled = kinds.index("HandoffRuled")
    assert kinds[ruled - 1 : ruled + 3] == [
        "HandoffRequested",
        "HandoffRuled",
        "DeadlineScheduled",
        "CaseClaimed",
    ]
    redispatch = log[ruled + 1]
    assert isinstance(redispatch, DeadlineScheduled) and redispatch.stage == "claim"
    assert redispatch.started_at == log[ruled].envelope.event_time
    assert isinstance(log[-1], CaseClosed)

    with projected(run) as (world, live):
        _query(world, records)
        assert_replay_is_live(world, live)


def _query(world: ProjectionWorld, records: list[Record]) -> None:
    projection = world.settings.projection
    with world.conn() as conn:
        flagged = queries.flagged_handoffs(conn, projection)
        assert [r["case_id"] for r in flagged.rows] == ["case-handoff-twice"]
        (row,) = flagged.rows
        assert (
            row["handoff_requests"],
            row["handoffs_upheld"],
            row["handoffs_refused"],
            row["status"],
            row["department_code"],
        ) == (2, 1, 1, "closed", MARKET)
        second = [
            r.event
            for r in case_log(records, "case-handoff-twice")
            if isinstance(r.event, HandoffRequested)
        ][-1]
        assert row["handoff_flagged_at"] == second.envelope.event_time
        assert flagged.complete_to is not None
        assert queries.handoffs_now(conn, projection, "department").rows == []  # all closed

        stats = queries.statistics(
            conn, projection, "department", "month", date(2026, 11, 1), date(2026, 12, 1)
        )
        totals = {
            r["code"]: Counter(
                {
                    m: r[m]
                    for m in (
                        "handoff_requests",
                        "handoffs_upheld",
                        "handoffs_refused",
                        "handoffs_flagged",
                        "resolved",
                    )
                }
            )
            for r in stats.rows
        }
        assert +totals[LAW] == {"handoff_requests": 2, "handoffs_upheld": 2}
        assert +totals[MARKET] == {
            "handoff_requests": 1,
            "handoffs_refused": 1,
            "handoffs_flagged": 1,
            "resolved": 2,
        }

        november = Period("month", date(2026, 11, 1))
        tiles = overview.tiles(conn, projection, WHOLE_CITY, CITY, november)
        (tile,) = [t for t in tiles.rows if t["kpi"] == "hand_offs"]
        assert (tile["label"], tile["value"]) == ("推诿", 3.0)
        assert kpis.KPIS["hand_offs"].numerator == "handoff_requests"
        panel = handoffs.flagged(conn, projection, WHOLE_CITY, CITY, november)
        assert [(r["case_id"], r["total"], r["status_zh"]) for r in panel.rows] == [
            ("case-handoff-twice", 1, "已结案")
        ]
        market = handoffs.flagged(
            conn, projection, WHOLE_CITY, Unit("department", MARKET), november
        )
        assert [r["case_id"] for r in market.rows] == ["case-handoff-twice"]
        (head,) = case.header(conn, projection, WHOLE_CITY, "case-handoff-once").rows
        assert [head[k] for k in ("handoff_requests", "handoffs_upheld", "handoffs_refused")] == [
            1,
            1,
            0,
        ]
        assert head["handoff_flagged_at"] is None and head["transfers"] == 0
        october = Period("month", date(2026, 10, 1))
        assert handoffs.flagged(conn, projection, WHOLE_CITY, CITY, october).rows == []
