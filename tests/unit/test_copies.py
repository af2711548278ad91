"""The cheap copies of frozen values are the copies the general tools make."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from domain.case_state import CaseState, Status
from domain.copies import built, model_with, with_changes
from domain.deadline_rows import DeadlineRow
from events.models import MODELS
from tests.factories import example_event


@pytest.mark.parametrize("event_type", sorted(MODELS))
def test_model_with_is_model_copy_with_an_update(event_type: str) -> None:
    event = example_event(event_type)
    envelope = model_with(event.envelope, sequence=42)
    ours = model_with(event, envelope=envelope)
    theirs = event.model_copy(
        update={"envelope": event.envelope.model_copy(update={"sequence": 42})}
    )
    assert ours == theirs
    assert ours.model_dump() == theirs.model_dump()
    assert ours.model_fields_set == theirs.model_fields_set
    assert ours.envelope.model_fields_set == theirs.envelope.model_fields_set
    assert event.envelope.sequence is None  # the original is untouched
    with pytest.raises(Exception, match="frozen"):
        ours.envelope.sequence = 1  # type: ignore[misc]


_STATE = CaseState(
    case_id="c-1",
    status=Status.reported,
    sequence=1,
    status_since=datetime(2025, 3, 3, tzinfo=UTC),
    category="fire",
    priority="normal",
    grid_id="g-1",
)


def test_with_changes_is_dataclasses_replace() -> None:
    state = _STATE
    changes = {"status": Status.accepted, "sequence": 2, "hand_offs": 3}
    ours = with_changes(state, **changes)
    assert ours == dataclasses.replace(state, **changes)
    assert state.status is Status.reported
    with pytest.raises(dataclasses.FrozenInstanceError):
        ours.sequence = 9  # type: ignore[misc]


def test_built_is_the_constructor_defaults_included() -> None:
    when = datetime(2025, 3, 4, tzinfo=UTC)
    given = {"deadline_id": "d-1", "case_id": "c-1", "stage": "handle", "started_at": when}
    given |= {"due_time": when, "working_hours": 8, "policy_id": "p", "policy_version": 1}
    given |= {"calendar_version": "2025.1", "department_code": None, "district_code": "d"}
    ours = built(DeadlineRow, **given)
    assert ours.__dict__ == DeadlineRow(**given).__dict__  # every default in place
    with pytest.raises(dataclasses.FrozenInstanceError):
        ours.paused = True  # type: ignore[misc]


def test_built_refuses_a_dataclass_with_default_factories() -> None:
    with pytest.raises(TypeError, match="default factories"):
        built(CaseState, case_id="c-1")
