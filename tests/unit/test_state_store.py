"""The workflow's table values: what ``dumps`` writes, ``loads`` reads back, in one stable form.

Case records live in a changelog topic and outlive the worker that wrote them, so the JSON
layout is a format: a record written earlier (format 1 too) must load, and the bytes written
now must be the layout spelled out by hand here. A case answers every event id it ever
answered, however many events later.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from bench.canonical_log import canonical_events
from domain.case_state import CaseState, DeadlineState, DeadlineStatus, Status, evolve
from events.models import CaseEvent, EscalationLevel
from processors.state_store import (
    Answer,
    CaseRecord,
    GridVisits,
    dumps,
    dumps_answer,
    dumps_grid,
    loads,
    loads_answer,
    loads_grid,
)
from simulate.city import CityShape

T0 = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)


def _states_of_a_simulated_day() -> list[CaseState]:
    """Every state every case of a simulated street day passes through."""
    states: dict[str, CaseState] = {}
    seen = []
    for stream, event in canonical_events(CityShape(streets=1, grids=40), 3, T0.date(), 2):
        if stream != "case":
            continue
        case = cast(CaseEvent, event)
        state = evolve(states.get(case.case_id), case)
        states[case.case_id] = state
        seen.append(state)
    return seen


def test_every_state_of_a_simulated_log_survives_the_round_trip() -> None:
    states = _states_of_a_simulated_day()
    assert len({s.status for s in states}) >= 6  # the log reaches most of the lifecycle
    for n, state in enumerate(states):
        events = {f"sub-{i}": i + 2 for i in range(n % 20)}
        refused = {f"ref-{i}": ("INVALID_TRANSITION", f"不行 {i}") for i in range(n % 3)}
        record = CaseRecord(state=state, partition=n % 12, events=events, refused=refused)
        assert loads(dumps(record)) == record


def _record() -> CaseRecord:
    deadline = DeadlineState(
        deadline_id="c-1:claim:3",
        stage="claim",
        priority="urgent",
        started_at=T0,
        due_time=T0 + timedelta(hours=4),
        working_hours=4,
        policy_id="sla",
        policy_version=2,
        calendar_version="cn-2025.1",
        status=DeadlineStatus.met,
        warned=True,
    )
    state = CaseState(
        case_id="c-1",
        status=Status.in_progress,
        sequence=4,
        status_since=T0 + timedelta(minutes=5, milliseconds=250),
        category="邻里纠纷",
        priority="urgent",
        grid_id="g-1",
        level=EscalationLevel.district,
        department="dept.justice",
        seen={"e-1": 1, "e-2": 2},
        deadlines=(deadline,),
        hand_offs=1,
    )
    return CaseRecord(state, 7, {"e-1": 2}, refused={"e-5": ("INVALID_TRANSITION", "不行")})


# The layout, spelled out: field names as in CaseState, enums by value, instants in ISO 8601
# with their offset, tuples as lists, text as UTF-8 (not \u escapes).
WRITTEN = json.dumps(
    {
        "v": 2,
        "p": 7,
        "state": {
            "case_id": "c-1",
            "status": "in_progress",
            "sequence": 4,
            "status_since": "2025-03-03T01:35:00.250000+00:00",
            "category": "邻里纠纷",
            "priority": "urgent",
            "grid_id": "g-1",
            "level": "district",
            "department": "dept.justice",
            "seen": {"e-1": 1, "e-2": 2},
            "deadlines": [
                {
                    "deadline_id": "c-1:claim:3",
                    "stage": "claim",
                    "priority": "urgent",
                    "started_at": "2025-03-03T01:30:00+00:00",
                    "due_time": "2025-03-03T05:30:00+00:00",
                    "working_hours": 4,
                    "policy_id": "sla",
                    "policy_version": 2,
                    "calendar_version": "cn-2025.1",
                    "status": "met",
                    "warned": True,
                    "breached": False,
                    "urges": 0,
                }
            ],
            "suspended_at": None,
            "supervision": None,
            "noticed_period": None,
            "hand_offs": 1,
            "handoff_pending": None,
            "returns": 0,
            "reworks": 0,
            "evaluated": False,
            "recorded_until": None,
            "location": None,
        },
        "events": {"e-1": 2},
        "refused": {"e-5": ["INVALID_TRANSITION", "不行"]},
    },
    separators=(",", ":"),
    ensure_ascii=False,
).encode()


def test_a_record_is_written_in_the_stable_layout() -> None:
    assert dumps(_record()) == WRITTEN


def test_a_record_in_the_stable_layout_loads() -> None:
    assert loads(WRITTEN) == _record()


def test_a_record_written_before_the_case_had_a_location_loads_with_none() -> None:
    before = json.loads(WRITTEN)
    del before["state"]["location"]
    assert loads(json.dumps(before).encode()) == _record()


def test_a_case_location_round_trips() -> None:
    located = replace(_record(), state=replace(_record().state, location=(29.94, 121.64)))
    assert loads(dumps(located)) == located


def test_a_record_of_format_1_loads_with_the_counts_of_its_recent_events() -> None:
    # Format 1 kept the last canonical events and rejections byte for byte.
    payload = json.loads(WRITTEN)
    del payload["events"], payload["refused"]
    event = base64.b64encode(b"\x00\x01fq").decode()
    payload |= {
        "v": 1,
        "recent": [[1, "e-1", event], [2, "e-1", event]],
        "rejected": [[4, "e-5", event]],
    }
    record = loads(json.dumps(payload).encode())
    assert record == replace(_record(), refused={})
    assert record.answer_of("e-1") == Answer(1, 2)
    assert record.answer_of("e-2") == Answer(2, 1)


def test_a_case_answers_every_event_id_however_many_events_later() -> None:
    record = _record()
    state = record.state
    for n in range(1_000):
        state = replace(state, sequence=state.sequence + 1, seen={**state.seen, f"a-{n}": n + 3})
        record = record.accepted(state, f"a-{n}", 2 if n % 2 else 1)
        record = record.refusing(f"r-{n}", "INVALID_TRANSITION", f"no {n}")
    assert record.answer_of("e-1") == Answer(1, 2)  # among the first
    assert record.answer_of("e-2") == Answer(2, 1)
    assert record.answer_of("e-5") == Answer(code="INVALID_TRANSITION", message="不行")
    assert record.answer_of("a-0") == Answer(3, 1)
    assert record.answer_of("a-999") == Answer(1002, 2)
    assert record.answer_of("r-0") == Answer(code="INVALID_TRANSITION", message="no 0")
    assert record.answer_of("never-sent") is None
    assert loads(dumps(record)) == record


def test_a_record_written_before_a_field_existed_loads_with_its_default() -> None:
    payload = json.loads(WRITTEN)
    del payload["state"]["reworks"], payload["state"]["evaluated"]
    del payload["state"]["recorded_until"]
    record = loads(json.dumps(payload).encode())
    assert record.state == replace(_record().state, reworks=0, evaluated=False)


@pytest.mark.parametrize(
    "data",
    [b"not json", b'{"v": 3, "p": 0, "state": {}, "recent": []}', b"[1, 2]"],
    ids=["not JSON", "another format", "not an object"],
)
def test_anything_but_a_record_is_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        loads(data)


@pytest.mark.parametrize(
    "answer",
    [Answer(12_345, 1), Answer(7, 3), Answer(code="GRID_NOT_EFFECTIVE", message="网格 g-1 …")],
    ids=["accepted", "accepted as several events", "refused"],
)
def test_an_answer_round_trips(answer: Answer) -> None:
    assert loads_answer(dumps_answer(answer)) == answer


def test_a_visit_written_by_format_1_is_answered_as_accepted_once() -> None:
    # Format 1 of the visits table: the sequence, 8 bytes big-endian, then the canonical bytes.
    assert loads_answer((4_321).to_bytes(8, "big") + b"\x00\x00\x00\x00\x01avro") == Answer(
        4_321, 1
    )


def test_grid_visits_round_trip() -> None:
    assert loads_grid(dumps_grid(GridVisits(partition=3, sequence=12_345))) == GridVisits(3, 12_345)
