"""Live mode: events paced at the rate asked for, their times moved onto the wall clock
without breaking any order the workflow relies on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.models import CaseEvent, Event, VisitRecorded
from simulate.clock import day_start
from simulate.live import LiveClock, paced
from simulate.stream import Simulation
from tests.unit.test_simulated_day import _reference, fold

WALL = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


class FakeTime:
    """A wall clock that moves only when slept on."""

    def __init__(self, start: datetime) -> None:
        self.t = start.timestamp()

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.001)


def _live(rate: float, seconds: float) -> list[Event]:
    city, _ = _reference()
    sim = Simulation(city, 21, date(2026, 7, 13), invalid_share=0.0)
    clock = FakeTime(WALL)
    batches = paced(sim.events(None), rate, day_start(sim.start), seconds, clock.now, clock.sleep)
    return [e for batch in batches for e in batch]


def test_paced_sends_the_rate_asked_for_with_times_on_the_wall_clock() -> None:
    events = _live(rate=1000, seconds=5)
    assert 4900 <= len(events) <= 5000
    recorded = [e.envelope.recorded_time for e in events]
    assert recorded == sorted(recorded)
    assert WALL <= recorded[0] and recorded[-1] <= WALL + timedelta(seconds=5)
    assert all(e.envelope.event_time <= e.envelope.recorded_time for e in events)


def test_live_events_are_still_a_valid_history() -> None:
    events = _live(rate=2000, seconds=4)
    states, refused = fold(events, _reference()[1])
    assert not refused
    assert len(states) > 100
    visits = [e for e in events if isinstance(e, VisitRecorded)]
    assert visits and all(v.started_at <= p.t <= v.ended_at for v in visits for p in v.track)
    assert any(isinstance(e, CaseEvent) and e.event_type == "CaseClosed" for e in events)


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate must be positive"):
        next(paced(iter(()), 0, WALL))


@given(
    st.lists(st.tuples(st.floats(0, 1e5), st.floats(0, 10)), min_size=1, max_size=50),
    st.lists(st.floats(-10, 2e5), min_size=2, max_size=20),
)
def test_the_clock_is_monotone(steps: list[tuple[float, float]], probes: list[float]) -> None:
    clock = LiveClock(WALL, WALL)
    sim, wall = WALL, WALL
    for ds, dw in steps:
        sim, wall = sim + timedelta(seconds=ds), wall + timedelta(seconds=dw)
        clock.mark(sim, wall)
    instants = sorted(WALL + timedelta(seconds=p) for p in probes)
    mapped = [clock.wall(i) for i in instants]
    assert mapped == sorted(mapped)
    assert WALL <= mapped[0] and mapped[-1] <= wall
