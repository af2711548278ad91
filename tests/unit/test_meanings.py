"""Every event type of the catalog has its meaning declared once, whole: a type or a part left
out fails here by name, before a fold or a rule silently skips it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import pytest

from domain import cohorts
from domain.calendar import SHANGHAI
from domain.cohorts import Cohort
from domain.meaning_types import (
    CaseMeaning,
    DeadlineEffect,
    Decided,
    Lifecycle,
    Meaning,
    No,
    Party,
    RecordMeaning,
)
from domain.meanings import CASE_MEANINGS, MEANINGS, RECORD_MEANINGS, TRANSITIONS, step_rule
from domain.reference_view import ReferenceView
from domain.stats_moves import declared_moves
from events.models import DERIVED_EVENT_TYPES, Event, model_for
from schemas.catalog import load_catalog
from tests.factories import example_event
from tests.unit.test_case_fold import Case as FoldCase
from tests.unit.test_case_fold import Folded, busy_case, datum
from tests.unit.test_handoff import _twice_handed_off
from tests.unit.test_ladder import dispatched, drive
from tests.unit.test_state_machine import IN_PROGRESS
from tests.unit.test_state_machine import Case as StepCase

CATALOG = load_catalog().event_types()


def undeclared(types: Iterable[str], meanings: Mapping[str, Meaning]) -> list[str]:
    """What is missing, one line per type or part: a type with no declaration, a part left
    empty (``None``, an empty mapping or set; "none" is said with a marker of its own)."""
    missing = []
    for event_type in types:
        meaning = meanings.get(event_type)
        if meaning is None:
            missing.append(f"{event_type}: no declaration in domain.meanings")
            continue
        if meaning.event_type != event_type:
            missing.append(f"{event_type}: declared as {meaning.event_type}")
        for part in dataclasses.fields(meaning):
            value = getattr(meaning, part.name)
            if value is None or (isinstance(value, Mapping | tuple) and not value):
                missing.append(f"{event_type}: its {part.name} is not declared")
    return missing


def test_every_event_type_of_the_catalog_is_declared_whole() -> None:
    assert undeclared(CATALOG, MEANINGS) == []
    assert set(MEANINGS) == set(CATALOG)  # and nothing declared that the catalog lacks


def test_the_check_names_the_type_and_the_part_missing() -> None:
    broken = dataclasses.replace(CASE_MEANINGS["CaseClaimed"], summary=None, parties=())
    no_cohorts = dataclasses.replace(CASE_MEANINGS["CaseClosed"], cohorts={})
    meanings = {**MEANINGS, "CaseClaimed": broken, "CaseClosed": no_cohorts}
    del meanings["CaseUrged"]
    assert undeclared(["CaseClaimed", "CaseUrged", "CaseClosed", "VisitRecorded"], meanings) == [
        "CaseClaimed: its summary is not declared",
        "CaseClaimed: its parties is not declared",
        "CaseUrged: no declaration in domain.meanings",
        "CaseClosed: its cohorts is not declared",
    ]


@pytest.mark.parametrize("event_type", CATALOG)
def test_each_type_is_declared_for_its_stream(event_type: str) -> None:
    meaning = MEANINGS[event_type]
    stream = model_for(event_type).stream
    if stream == "case":
        assert isinstance(meaning, CaseMeaning)
    else:
        assert isinstance(meaning, RecordMeaning) and meaning.stream == stream


@pytest.mark.parametrize("event_type", sorted(CASE_MEANINGS))
def test_each_case_type_has_its_line_in_the_trace(event_type: str) -> None:
    line = CASE_MEANINGS[event_type].summary(datum(example_event(event_type)))
    assert line and line != event_type


def test_the_steps_have_rules_and_the_derived_types_are_the_engines() -> None:
    for event_type, meaning in CASE_MEANINGS.items():
        if event_type in DERIVED_EVENT_TYPES:
            assert meaning.transition is Lifecycle.keeps, event_type
            assert meaning.parties == (Party.engine,), event_type
            assert isinstance(meaning.rule, Decided), event_type
        elif event_type == "CaseReported":
            assert meaning.transition is Lifecycle.starts
            assert meaning.rule is Decided.on_report
        else:
            assert callable(step_rule(event_type)), event_type
            assert Party.engine not in meaning.parties, event_type
    assert set(TRANSITIONS) == set(CASE_MEANINGS) - DERIVED_EVENT_TYPES - {"CaseReported"}


def test_a_type_without_a_rule_of_its_own_has_none_to_look_up() -> None:
    with pytest.raises(LookupError, match="DeadlineWarned"):
        step_rule("DeadlineWarned")


def test_the_steps_that_end_or_restart_a_stage() -> None:
    effects = {t: m.deadline_effect for t, m in CASE_MEANINGS.items()}
    assert {t for t, e in effects.items() if e is DeadlineEffect.met} == {
        "CaseClaimed",
        "CaseResolved",
        "CaseVerified",
    }
    assert {t for t, e in effects.items() if e is DeadlineEffect.cancelled} == {
        "CaseTransferred",
        "CaseReturned",
        "CaseReopened",
    }
    assert {t for t, e in effects.items() if e is DeadlineEffect.paused} == {
        "CaseSuspended",
        "CaseParked",
    }
    # a hand-off ruling restarts the stage only when it upholds the request (a re-dispatch)
    assert {t for t, e in effects.items() if e is DeadlineEffect.cancelled_if_upheld} == {
        "HandoffRuled"
    }
    assert effects["HandoffRequested"] is DeadlineEffect.none  # the clock runs on


def test_a_transfer_is_the_centre_s_and_a_hand_off_is_asked_and_ruled() -> None:
    parties = {t: CASE_MEANINGS[t].parties for t in ("CaseTransferred", "HandoffRequested")}
    assert parties == {
        "CaseTransferred": (Party.command_centre,),
        "HandoffRequested": (Party.department,),
    }
    assert CASE_MEANINGS["HandoffRuled"].parties == (Party.command_centre,)


def test_records_without_counters_or_checks_say_so() -> None:
    assert RECORD_MEANINGS["DepartmentDefined"].rule is No.check
    assert RECORD_MEANINGS["SubmissionOutcome"].counters is No.counters
    assert callable(RECORD_MEANINGS["VisitRecorded"].counters)
    assert callable(RECORD_MEANINGS["PlaceDefined"].rule)


def undeclared_cohorts(meanings: Mapping[str, CaseMeaning]) -> list[str]:
    """The case types whose cohort moves are neither moves by cohort nor ``No.cohorts``."""
    missing = []
    for event_type, meaning in meanings.items():
        declared = meaning.cohorts
        if declared is No.cohorts:
            continue
        if not isinstance(declared, Mapping) or not declared:
            missing.append(f"{event_type}: its cohort moves are not declared ({declared!r})")
            continue
        missing += [
            f"{event_type}: {cohort!r} is not a cohort with its moves"
            for cohort, moves in declared.items()
            if not isinstance(cohort, Cohort) or not callable(moves)
        ]
    return missing


def test_each_case_type_declares_its_cohort_moves_or_says_it_has_none() -> None:
    assert undeclared_cohorts(CASE_MEANINGS) == []
    broken = {
        "CaseClosed": dataclasses.replace(CASE_MEANINGS["CaseClosed"], cohorts=No.counters),
        "CaseParked": dataclasses.replace(
            CASE_MEANINGS["CaseParked"], cohorts={"due_to_close": None}
        ),
    }
    assert undeclared_cohorts(broken) == [
        f"CaseClosed: its cohort moves are not declared ({No.counters!r})",
        "CaseParked: 'due_to_close' is not a cohort with its moves",
    ]


def test_the_types_that_move_each_cohort() -> None:
    moving: dict[Cohort, set[str]] = {c: set() for c in Cohort}
    for event_type, meaning in CASE_MEANINGS.items():
        for cohort in meaning.cohorts if isinstance(meaning.cohorts, Mapping) else ():
            moving[cohort].add(event_type)
    assert moving == {
        Cohort.due_to_close: {
            "CaseDispatched",
            "CaseClosed",
            "CaseReopened",
            "CaseParked",
            "CaseUnparked",
        },
        Cohort.funnel: {
            "CaseAccepted",
            "CaseDispatched",
            "CaseResolved",
            "CaseVerified",
            "CaseClosed",
            "CaseReopened",
        },
        Cohort.resolution: {"CaseResolved"},
    }


def _every_kind_of_step() -> list[tuple[ReferenceView, list[Event]]]:
    """Canonical logs that take every case event type between them."""
    returned = StepCase().walk(*IN_PROGRESS, "CaseReturned")
    rejected = StepCase().walk("CaseRejected")
    laddered = dispatched()
    drive(laddered, datetime(2025, 4, 2, 9, 0, tzinfo=SHANGHAI))
    handed_off = _twice_handed_off()
    busy = busy_case()
    warned = FoldCase()
    for step, minute in (("CaseReported", 0), ("CaseAccepted", 30), ("CaseDispatched", 60)):
        warned.do(step, datetime(2025, 3, 3, 9, tzinfo=SHANGHAI) + timedelta(minutes=minute))
    warned.signal(datetime(2025, 3, 4, 9, tzinfo=SHANGHAI))  # its claim is warned at 08:30
    return [
        (busy.ref, busy.log),
        (warned.ref, warned.log),
        *((c.ref, c.log) for c in (returned, rejected, laddered, handed_off)),
    ]


def test_a_type_whose_steps_move_the_funnel_declares_it() -> None:
    # the funnel's moves are worked out from the case before and after any step: a type left
    # undeclared would be skipped silently by the projector
    seen, moved = set(), set()
    for ref, log in _every_kind_of_step():
        folded = Folded()
        for event in log:
            step = folded.feed(event.event_type, datum(event), ref)
            assert step is not None
            seen.add(event.event_type)
            if cohorts.funnel(step) is not None:
                moved.add(event.event_type)
    assert seen == set(CASE_MEANINGS)
    undeclared_funnel = {t for t in moved if declared_moves(t, Cohort.funnel) is None}
    assert undeclared_funnel == set(), f"move the funnel, undeclared: {sorted(undeclared_funnel)}"
    assert moved == {t for t in CASE_MEANINGS if declared_moves(t, Cohort.funnel) is not None}
