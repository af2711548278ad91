"""Reference data cannot be back-dated over what was already decided: a re-gridding, a
reassignment, a category's new version, a lexicon or a retirement effective from before the
day it is recorded, replacing a version in force on those days, is refused
(BACKDATED_REFERENCE) naming both dates, so a replay files every case as the live run did.
A first definition, or a new version from the day it is recorded on, is accepted."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.decisions import Accepted, Rejected
from domain.decisions import RejectionCode as Code
from domain.reference_rules import decide_reference
from events.models import Event
from tests.unit.test_reference_view import (
    GRID_2,
    LAW,
    MARKET,
    REF,
    STREET,
    VILLAGE,
    VILLAGE_2,
    WORKER,
    envelope,
    ev,
    sh,
)

RECORDED = sh(2025, 9, 1, 10, 0)


def _at(event_type: str, **fields: Any) -> Event:
    return ev(event_type, env=envelope(RECORDED), **fields)


BACKDATED = {
    "a re-gridding": _at(
        "PlaceDefined",
        code=GRID_2,
        name="二网格",
        level="grid",
        parent_code=VILLAGE,
        effective_from=date(2025, 8, 1),
    ),
    "a reassignment": _at(
        "WorkerAssigned",
        worker_id=WORKER,
        role="grid_worker",
        grid_id=GRID_2,
        effective_from=date(2025, 8, 15),
    ),
    "a category's new version": _at(
        "CategoryDefined",
        code="city_appearance",
        name="市容市貌",
        default_department_code=MARKET,
        sla_policy_id="sla.default",
        effective_from=date(2025, 6, 1),
    ),
    "a lexicon": _at(
        "LexiconPublished",
        lexicon_version="2025Q3",
        user_words=["占道"],
        stop_words=[],
        effective_from=date(2025, 7, 1),
    ),
    "a retirement": _at("PlaceRetired", code=VILLAGE_2, effective_from=date(2025, 8, 31)),
}


@pytest.mark.parametrize("what", sorted(BACKDATED))
def test_a_backdated_definition_over_a_version_in_force_is_refused(what: str) -> None:
    event = BACKDATED[what]
    decision = decide_reference(REF, event)
    assert isinstance(decision, Rejected), decision
    assert decision.code is Code.BACKDATED_REFERENCE
    effective = str(event.effective_from)  # type: ignore[attr-defined]
    assert f"effective from {effective}" in decision.message
    assert "2025-09-01" in decision.message and "already decided" in decision.message


def test_the_same_definitions_from_the_day_they_are_recorded_are_accepted() -> None:
    for what, event in BACKDATED.items():
        on_time = event.model_copy(update={"effective_from": date(2025, 9, 1)})
        assert isinstance(decide_reference(REF, on_time), Accepted), what


def test_a_first_definition_may_be_dated_back() -> None:
    new_street_grid = _at(
        "PlaceDefined",
        code="330211004001077",
        name="新网格",
        level="grid",
        parent_code=VILLAGE,
        effective_from=date(2025, 2, 1),
    )
    assert isinstance(decide_reference(REF, new_street_grid), Accepted)
    new_category = _at(
        "CategoryDefined",
        code="noise",
        name="噪声扰民",
        default_department_code=LAW,
        sla_policy_id="sla.default",
        effective_from=date(2025, 2, 1),
    )
    assert isinstance(decide_reference(REF, new_category), Accepted)
    assert STREET  # the grid's street is in force throughout
