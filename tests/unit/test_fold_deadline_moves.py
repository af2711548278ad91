"""The case read model's deadlines as event time settles them: a deadline moved past its
breach by an extension or a pause is open again, and a step posted after the breach but done
before the due time leaves the case on time."""

from __future__ import annotations

from projections.now_fold import is_overdue
from tests.unit.test_case_fold import fold, in_progress
from tests.unit.test_reference_view import sh

HANDLE_DUE = sh(2025, 3, 10, 15, 0)


def test_an_extension_past_the_breach_reopens_the_deadline_in_the_read_model() -> None:
    case = in_progress()
    case.signal(HANDLE_DUE)
    f = fold(case.records())
    assert f.deadline("handle").status == "breached" and is_overdue(f.r.status, f.deadlines)
    case.do("CaseExtended", sh(2025, 3, 10, 16, 0), extra_working_hours=16)
    f = fold(case.records())
    handle = f.deadline("handle")
    assert handle.due_time > HANDLE_DUE
    assert (handle.status, handle.breached_at, handle.warned_at) == ("open", None, None)
    assert not is_overdue(f.r.status, f.deadlines)
    case.do("CaseResolved", sh(2025, 3, 11, 10, 0))
    f = fold(case.records())
    assert f.deadline("handle").status == "met" and f.r.on_time is True


def test_a_pause_past_the_breach_reopens_the_deadline_in_the_read_model() -> None:
    case = in_progress()
    case.signal(HANDLE_DUE)
    case.do("CaseSuspended", sh(2025, 3, 10, 15, 30))
    case.do("CaseResumed", sh(2025, 3, 12, 9, 0))
    f = fold(case.records())
    handle = f.deadline("handle")
    assert handle.due_time > HANDLE_DUE and handle.breached_at is None
    assert not is_overdue(f.r.status, f.deadlines)


def test_a_resolution_done_before_the_due_time_but_posted_after_the_breach_is_on_time() -> None:
    case = in_progress()
    case.signal(HANDLE_DUE)
    case.do("CaseResolved", sh(2025, 3, 10, 14, 0), recorded=sh(2025, 3, 10, 18, 0))
    f = fold(case.records())
    handle = f.deadline("handle")
    assert (handle.status, handle.lateness_hours, handle.breached_at) == ("met", -1.0, None)
    assert f.r.on_time is True
