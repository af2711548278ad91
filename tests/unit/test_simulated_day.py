"""A simulated street day is a valid history: the pure workflow accepts every submission,
and the simulator is reproducible from its seed."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

from processors.rules.case_state import CaseState, Status, evolve
from processors.rules.decisions import Accepted
from processors.rules.reference_rules import decide_reference
from processors.rules.reference_view import ReferenceView
from processors.rules.state_machine import decide
from processors.rules.visit_rules import decide_visit
from simulate.activity import day_events
from simulate.city import CityShape, reference_events

DAY = date(2025, 6, 3)


def _day(seed: int) -> tuple[list, list]:  # type: ignore[type-arg]
    city, reference = reference_events(CityShape.zhuangshi(), seed)
    return reference, list(day_events(city, DAY, random.Random(seed)))


def test_every_simulated_submission_is_accepted() -> None:
    reference, activity = _day(3)
    view = ReferenceView()
    refused: Counter[str] = Counter()
    for event in reference:
        decision = decide_reference(view, event)
        if isinstance(decision, Accepted):
            view = view.apply_all(decision.events)
        else:
            refused[f"{event.event_type}: {decision}"] += 1
    states: dict[str, CaseState] = {}
    for event in activity:
        if event.stream == "visit":
            decision = decide_visit(event, view)
        else:
            decision = decide(states.get(event.case_id), event, view)
        if not isinstance(decision, Accepted):
            refused[f"{event.event_type}: {decision}"] += 1
            continue
        for accepted in decision.events if event.stream == "case" else ():
            states[event.case_id] = evolve(states.get(event.case_id), accepted)
    assert not refused, refused.most_common(5)
    finished = Counter(state.status for state in states.values())
    assert finished[Status.closed] > 0.9 * len(states)
    assert len(states) > 20 and len(activity) > 500


def test_same_seed_same_events_other_seed_other_events() -> None:
    first, second, other = _day(11), _day(11), _day(12)
    assert [e.model_dump() for e in first[1]] == [e.model_dump() for e in second[1]]
    assert [e.model_dump() for e in first[1]] != [e.model_dump() for e in other[1]]
