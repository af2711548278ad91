"""Simulated days are a valid history: the pure workflow accepts every submission except those
meant to be refused (and refuses those with the code they name), cases run their lifecycles
with late posts and detours, and the simulator is reproducible from its seed."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta
from functools import cache

import pytest

from domain.calendar import local_date
from domain.case_state import CaseState, Status, evolve
from domain.decisions import Accepted, Rejected
from domain.reference_rules import decide_reference
from domain.reference_view import ReferenceView
from domain.state_machine import decide
from domain.visit_rules import decide_visit
from events.models import (
    CaseEvent,
    CaseResolved,
    Channel,
    DeadlineScheduled,
    Event,
    VisitRecorded,
)
from simulate import lifecycle
from simulate.activity import day_events
from simulate.city import City, CityShape, reference_events
from simulate.stream import Simulation

START = date(2026, 7, 13)  # a Monday, in the typhoon quarter


@cache
def _reference(seed: int = 3) -> tuple[City, ReferenceView]:
    city, reference = reference_events(CityShape.zhuangshi(), seed)
    view = ReferenceView()
    for event in reference:
        decision = decide_reference(view, event)
        assert isinstance(decision, Accepted), f"{event.event_type}: {decision}"
        view = view.apply_all(decision.events)
    return city, view


def _run(seed: int, days: int, invalid_share: float = 0.0) -> tuple[list[Event], Simulation]:
    city, _ = _reference()
    sim = Simulation(city, seed, START, invalid_share=invalid_share)
    return list(sim.events(days)), sim


def fold(events: list[Event], view: ReferenceView) -> tuple[dict[str, CaseState], dict[str, str]]:
    """Every submission through the pure workflow: the cases' states, and what was refused
    (event id → rejection code)."""
    states: dict[str, CaseState] = {}
    refused: dict[str, str] = {}
    for event in events:
        if isinstance(event, VisitRecorded):
            decision = decide_visit(event, view)
        else:
            assert isinstance(event, CaseEvent)
            decision = decide(states.get(event.case_id), event, view)
        if isinstance(decision, Rejected):
            refused[event.envelope.event_id] = str(decision.code)
        elif isinstance(event, CaseEvent):
            assert isinstance(decision, Accepted), decision
            for accepted in decision.events:
                assert isinstance(accepted, CaseEvent)
                states[event.case_id] = evolve(states.get(event.case_id), accepted)
    return states, refused


def test_every_simulated_submission_is_accepted_but_those_meant_to_be_refused() -> None:
    events, sim = _run(seed=5, days=4, invalid_share=0.05)
    states, refused = fold(events, _reference()[1])
    assert sim.stats.invalid, "an invalid share of 5% gives some"
    assert refused == sim.stats.invalid
    assert set(refused.values()) <= {
        "INVALID_TRANSITION",
        "WRONG_DEPARTMENT",
        "WORKER_NOT_ASSIGNED",
    }
    assert len(states) > 200 and len(events) > 2500


def test_cases_run_whole_lifecycles_with_detours() -> None:
    city, view = _reference()
    activity: list[Event] = []
    for n in range(3):
        day = START + timedelta(days=n)
        activity += day_events(city, day, random.Random(n))
    states, refused = fold(activity, view)
    assert not refused
    status = Counter(state.status for state in states.values())
    assert status[Status.closed] > 0.85 * len(states)
    assert status[Status.rejected] > 0
    assert sum(s.hand_offs for s in states.values()) > 0
    assert sum(s.returns for s in states.values()) > 0
    assert sum(s.reworks for s in states.values()) > 0
    kinds = Counter(e.event_type for e in activity)
    for kind in (
        "CaseEscalated",
        "CaseExtended",
        "CaseSuspended",
        "CaseResumed",
        "CaseEvaluated",
        "CaseTransferred",
        "CaseReturned",
    ):
        assert kinds[kind] > 0, kind


def test_departments_post_late_and_cases_stay_in_order_by_both_times() -> None:
    events, _ = _run(seed=7, days=3)
    late = [
        e for e in events if e.envelope.recorded_time - e.envelope.event_time > timedelta(hours=2)
    ]
    assert late and all(e.envelope.actor.role == "department" for e in late)
    recorded = [e.envelope.recorded_time for e in events]
    assert recorded == sorted(recorded), "the stream is in recording order"
    last: dict[str, tuple[object, object]] = {}
    for e in events:
        if isinstance(e, CaseEvent):
            times = (e.envelope.event_time, e.envelope.recorded_time)
            assert last.get(e.case_id, times) <= times  # type: ignore[operator]
            last[e.case_id] = times


def test_cases_come_from_all_four_channels_in_a_plausible_mix() -> None:
    _, sim = _run(seed=11, days=5)
    channels = sim.stats.cases_by_channel
    total = sum(channels.values())
    assert set(channels) == {c.value for c in Channel}
    assert 0.6 < channels["grid_visit"] / total < 0.85
    assert channels["resident"] > channels["hotline"] > channels["department"] > 0


def test_each_day_batch_holds_what_was_recorded_that_day_and_the_rest_is_counted() -> None:
    city, _ = _reference()
    sim = Simulation(city, 13, START)
    batches = list(sim.days(2))
    assert [b.day for b in batches] == [START, START + timedelta(days=1)]
    for batch in batches:
        assert {local_date(e.envelope.recorded_time) for e in batch.events} == {batch.day}
    assert sim.stats.by_day == {b.day: len(b.events) for b in batches}
    assert sim.stats.beyond_window > 0  # cases still open when the window ends


def test_a_working_day_has_a_visit_per_worker_and_a_rest_day_fewer() -> None:
    city, _ = _reference()
    workers = sum(len(w) for w in city.workers.values())
    saturday = START + timedelta(days=5)
    visits = Counter(
        day
        for day in (START, saturday)
        for e in day_events(city, day, random.Random(1))
        if isinstance(e, VisitRecorded)
    )
    assert 0.9 * workers < visits[START] < 1.1 * workers
    assert visits[saturday] < 0.4 * workers


def test_same_seed_same_events_other_seed_other_events() -> None:
    first, second, other = _run(11, 2)[0], _run(11, 2)[0], _run(12, 2)[0]
    assert [e.model_dump() for e in first] == [e.model_dump() for e in second]
    assert [e.envelope.event_id for e in first] != [e.envelope.event_id for e in other]


def test_a_day_is_the_same_whichever_day_the_run_starts() -> None:
    city, _ = _reference()
    day = START + timedelta(days=1)
    from_start = [b for b in Simulation(city, 5, START).days(2)][1]
    alone = next(Simulation(city, 5, day).days(1))
    started_that_day = {e.envelope.event_id for e in alone.events}
    assert started_that_day <= {e.envelope.event_id for e in from_start.events}


def test_the_backlog_and_slow_departments_come_out_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "PARK_SHARE", 0.2)  # the real share is a few a month
    _, view = _reference()
    activity, _ = _run(seed=11, days=3)
    states, refused = fold(activity, view)
    assert not refused
    kinds = Counter(e.event_type for e in activity)
    assert kinds["CaseParked"] > 5  # taken off the backlog weeks later: after these days
    assert Counter(s.status for s in states.values())[Status.parked] == (
        kinds["CaseParked"] - kinds["CaseUnparked"]
    )
    parked = [e for e in activity if e.event_type == "CaseParked"]
    assert all(e.envelope.actor.role == "command_centre" for e in parked)
    policy = view.sla_policy("standard", START)
    assert policy is not None
    ladder = policy.limit("handle", "normal").ladder
    assert 0 < ladder.urge_every_hours < ladder.street_after_hours < ladder.district_after_hours
    assert ladder.monthly_notice


def test_slow_departments_run_past_due_more_often() -> None:
    city, view = _reference()
    activity: list[Event] = []
    for n in range(3):
        activity += day_events(city, START + timedelta(days=n), random.Random(n))
    due: dict[str, datetime] = {}
    late: Counter[bool] = Counter()
    total: Counter[bool] = Counter()
    states: dict[str, CaseState] = {}
    for event in activity:
        if not isinstance(event, CaseEvent):
            continue
        decision = decide(states.get(event.case_id), event, view)
        assert isinstance(decision, Accepted), decision
        for accepted in decision.events:
            assert isinstance(accepted, CaseEvent)
            states[event.case_id] = evolve(states.get(event.case_id), accepted)
            if isinstance(accepted, DeadlineScheduled) and accepted.stage == "handle":
                due[event.case_id] = accepted.due_time
        if isinstance(event, CaseResolved):
            slow = event.department_code in lifecycle.SLOW_DEPARTMENTS
            total[slow] += 1
            late[slow] += event.envelope.event_time > due[event.case_id]
    assert total[True] > 10
    assert late[True] / total[True] > 2 * late[False] / total[False]
