"""The workflow's table values: what ``dumps`` writes, ``loads`` reads back, in one stable form.

Case records live in a changelog topic and outlive the worker that wrote them, so the JSON
layout is a format: a record written earlier must load, and the bytes written now must be the
layout the older writer produced (tested against a record spelled out by hand).
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from bench.canonical_log import canonical_events
from events.models import CaseEvent, EscalationLevel
from processors.rules.case_state import CaseState, DeadlineState, DeadlineStatus, Status, evolve
from processors.state_store import (
    RECENT,
    CaseRecord,
    GridVisits,
    StoredEvent,
    dumps,
    dumps_grid,
    dumps_written,
    loads,
    loads_grid,
    loads_written,
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
        recent = tuple(
            StoredEvent(i, f"sub-{i}", bytes([i % 256]) * (i + 1)) for i in range(n % 20)
        )
        record = CaseRecord(state=state, partition=n % 12, recent=recent[-RECENT:])
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
    recent = (StoredEvent(4, "e-4", b"\x00\x01fq"),)
    return CaseRecord(state, 7, recent, rejected=(StoredEvent(4, "e-5", b"\x00\x02no"),))


# The layout, spelled out: field names as in CaseState, enums by value, instants in ISO 8601
# with their offset, tuples as lists, text as UTF-8 (not \u escapes), event bytes in base64.
WRITTEN = json.dumps(
    {
        "v": 1,
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
            "returns": 0,
            "reworks": 0,
            "evaluated": False,
            "recorded_until": None,
        },
        "recent": [[4, "e-4", base64.b64encode(b"\x00\x01fq").decode()]],
        "rejected": [[4, "e-5", base64.b64encode(b"\x00\x02no").decode()]],
    },
    separators=(",", ":"),
    ensure_ascii=False,
).encode()


def test_a_record_is_written_in_the_stable_layout() -> None:
    assert dumps(_record()) == WRITTEN


def test_a_record_in_the_stable_layout_loads() -> None:
    assert loads(WRITTEN) == _record()


def test_a_record_written_before_rejections_were_kept_loads_with_none() -> None:
    payload = json.loads(WRITTEN)
    del payload["rejected"]
    assert loads(json.dumps(payload).encode()) == replace(_record(), rejected=())


def test_a_case_keeps_its_last_rejections_through_later_events() -> None:
    record = _record()
    for n in range(RECENT + 2):
        record = record.refused(StoredEvent(4, f"r-{n}", f"no {n}".encode()))
    record = record.appended(record.state, [StoredEvent(5, "e-6", b"yes")])
    assert len(record.rejected) == RECENT
    last = f"r-{RECENT + 1}"
    assert record.rejection_of(last) == StoredEvent(4, last, f"no {RECENT + 1}".encode())
    assert record.rejection_of("r-1") is None  # left the window
    assert record.rejection_of("e-6") is None  # accepted, not rejected
    assert loads(dumps(record)) == record


def test_a_record_written_before_a_field_existed_loads_with_its_default() -> None:
    payload = json.loads(WRITTEN)
    del payload["state"]["reworks"], payload["state"]["evaluated"]
    del payload["state"]["recorded_until"]
    record = loads(json.dumps(payload).encode())
    assert record.state == replace(_record().state, reworks=0, evaluated=False)


@pytest.mark.parametrize(
    "data",
    [b"not json", b'{"v": 2, "p": 0, "state": {}, "recent": []}', b"[1, 2]"],
    ids=["not JSON", "another format", "not an object"],
)
def test_anything_but_a_record_is_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        loads(data)


def test_a_stored_event_keeps_its_bytes_exactly() -> None:
    event = StoredEvent(9, "e-9", bytes(range(256)))
    assert base64.b64decode(event.text) == event.value
    assert loads_written("e-9", dumps_written(event)) == event


def test_grid_visits_round_trip() -> None:
    assert loads_grid(dumps_grid(GridVisits(partition=3, sequence=12_345))) == GridVisits(3, 12_345)
