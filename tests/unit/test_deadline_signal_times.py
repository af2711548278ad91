"""Deadline signals in the workflow: a warning or breach happens at its warn or due time,
whenever the trigger notices it, and a deadline moved later by an extension or a pause loses
the flags its old due time earned, so it is warned and breached again at the new one."""

from __future__ import annotations

from domain.state_machine import decide, due_signals, signal_submission
from tests.unit.test_reference_view import REF, sh
from tests.unit.test_state_machine import CASE, IN_PROGRESS, Case, _open, _signalled

WARN_AT = sh(2025, 3, 3, 17, 0)
CLAIM_DUE = sh(2025, 3, 4, 10, 0)


def test_a_late_trigger_dates_the_breach_at_the_due_time() -> None:
    case = _signalled(Case())
    noticed = sh(2025, 3, 7, 15, 0)  # the worker was down for three days
    (signal,) = due_signals(case.s, noticed, REF)
    submitted = signal_submission(CASE, signal, noticed)
    assert submitted.envelope.event_time == CLAIM_DUE
    assert submitted.envelope.recorded_time == noticed
    (canonical,) = case.apply(decide(case.state, submitted, REF))
    assert canonical.envelope.event_time == CLAIM_DUE


def test_a_warning_is_dated_at_its_warn_time() -> None:
    case = _signalled(Case())
    noticed = sh(2025, 3, 4, 8, 30)
    (signal,) = due_signals(case.s, noticed, REF)
    assert signal.kind == "DeadlineWarned"
    submitted = signal_submission(CASE, signal, noticed)
    (canonical,) = case.apply(decide(case.state, submitted, REF))
    assert canonical.envelope.event_time == WARN_AT
    assert canonical.envelope.recorded_time == noticed


def _breach_handle(case: Case) -> None:
    due = _open(case).due_time
    (signal,) = [s for s in due_signals(case.s, due, REF) if s.kind == "DeadlineBreached"]
    case.apply(decide(case.state, signal_submission(CASE, signal, due), REF))
    assert _open(case).breached and _open(case).warned is False


def test_an_extension_past_a_breach_clears_it_and_the_new_due_time_breaches_again() -> None:
    case = Case().walk(*IN_PROGRESS)  # handle due Mon 10 Mar 14:30
    _breach_handle(case)
    case.do("CaseExtended", at=sh(2025, 3, 10, 15, 0))  # 16 more working hours
    moved = _open(case)
    assert moved.due_time > sh(2025, 3, 11, 14, 30)
    assert not moved.breached and not moved.warned
    assert due_signals(case.s, sh(2025, 3, 11, 9, 0), REF) == []
    kinds = [s.kind for s in due_signals(case.s, moved.due_time, REF)]
    assert kinds == ["DeadlineBreached"]


def test_a_pause_that_moves_the_due_time_past_the_breach_clears_it() -> None:
    case = Case().walk(*IN_PROGRESS)
    _breach_handle(case)
    case.do("CaseSuspended", at=sh(2025, 3, 10, 15, 0))
    case.do("CaseResumed", at=sh(2025, 3, 12, 15, 0))
    moved = _open(case)
    assert moved.due_time > sh(2025, 3, 10, 14, 30) and not moved.breached
    assert [s.kind for s in due_signals(case.s, moved.due_time, REF)] == ["DeadlineBreached"]
