"""``recorded_time`` is checked, not trusted: a submission recorded before it happened is
refused with its own code, and a case's recording times never go backwards on its canonical
stream (a step recorded earlier than the step before it is stamped with that step's time), so
a replay "as known at" any instant reads a prefix of every case."""

from __future__ import annotations

from datetime import date, timedelta

from domain.decisions import Accepted, Rejected
from domain.decisions import RejectionCode as Code
from domain.reference_rules import decide_reference
from domain.state_machine import decide
from domain.visit_rules import decide_visit
from events.models import Event, VisitRecorded
from tests.unit.test_reference_view import REF, ev, sh
from tests.unit.test_state_machine import Case, submission
from tests.unit.test_stats_fold import visit


def _recorded(event: Event, delta: timedelta) -> Event:
    envelope = event.envelope.model_copy(
        update={"recorded_time": event.envelope.event_time + delta}
    )
    return event.model_copy(update={"envelope": envelope})


def test_a_case_step_recorded_before_it_happened_is_refused() -> None:
    case = Case().walk("CaseAccepted")
    early = _recorded(submission("CaseDispatched", case.t + timedelta(hours=1)), -timedelta(1))
    decision = decide(case.state, early, REF)
    assert isinstance(decision, Rejected) and decision.code is Code.RECORDED_BEFORE_EVENT
    assert "recorded" in decision.message and early.envelope.event_id in decision.message


def test_a_report_recorded_before_it_happened_is_refused() -> None:
    early = _recorded(submission("CaseReported", sh(2025, 3, 3, 9, 0)), -timedelta(seconds=1))
    decision = decide(None, early, REF)
    assert isinstance(decision, Rejected) and decision.code is Code.RECORDED_BEFORE_EVENT


def test_a_visit_and_a_definition_recorded_before_they_happened_are_refused() -> None:
    datum = visit(sh(2025, 3, 3, 11, 0))
    seen = VisitRecorded.model_validate(
        {**datum, "envelope": {**datum["envelope"], "sequence": None}}
    )
    decision = decide_visit(_recorded(seen, -timedelta(minutes=5)), REF, sequence=1)
    assert isinstance(decision, Rejected) and decision.code is Code.RECORDED_BEFORE_EVENT
    lexicon = ev(
        "LexiconPublished",
        lexicon_version="2030Q1",
        user_words=[],
        stop_words=[],
        effective_from=date(2030, 1, 1),
    )
    decision = decide_reference(REF, _recorded(lexicon, -timedelta(minutes=5)))
    assert isinstance(decision, Rejected) and decision.code is Code.RECORDED_BEFORE_EVENT


def test_a_step_recorded_before_the_previous_one_is_stamped_in_recording_order() -> None:
    case = Case().walk()
    accepted = _recorded(submission("CaseAccepted", case.t + timedelta(minutes=30)), timedelta(5))
    case.apply(decide(case.state, accepted, REF))  # posted five days late
    posted = accepted.envelope.recorded_time
    dispatched = _recorded(submission("CaseDispatched", case.t + timedelta(hours=1)), timedelta(1))
    assert dispatched.envelope.recorded_time < posted
    decision = decide(case.state, dispatched, REF)
    assert isinstance(decision, Accepted), decision
    assert [e.envelope.recorded_time for e in decision.events] == [posted, posted]
    assert decision.events[0].envelope.event_time == dispatched.envelope.event_time
    case.apply(decision)
    recorded = [e.envelope.recorded_time for e in case.log]
    assert recorded == sorted(recorded)
