"""Working time beyond the calendar fails loudly: the workflow refuses a step whose working
hours the read models would have to count past the last published year (CALENDAR_GAP), and
the case fold raises ``WorkingTimeUnknown`` (the projector dead-letters the record with the
reason) rather than counting wall-clock hours."""

from __future__ import annotations

import pytest

from domain.case_fold import fold_case
from domain.deadline_rows import WorkingTimeUnknown
from domain.decisions import RejectionCode as Code
from domain.errors import CorruptStream
from tests.unit.test_case_fold import Case, datum, fold, resequenced
from tests.unit.test_reference_view import sh
from tests.unit.test_state_machine import Case as Decided
from tests.unit.test_state_machine import _rejected


def _resolved_at_year_end() -> Case:
    case = Case()
    case.do("CaseReported", sh(2026, 12, 14, 9, 0))
    case.do("CaseAccepted", sh(2026, 12, 14, 9, 30))
    case.do("CaseDispatched", sh(2026, 12, 14, 10, 0))
    case.do("CaseClaimed", sh(2026, 12, 14, 11, 0))
    case.do("CaseResolved", sh(2026, 12, 14, 15, 0))  # verify due on 16 December
    return case


def test_a_verification_in_a_year_the_calendar_does_not_know_is_refused() -> None:
    case = Decided(start=sh(2026, 12, 14, 9, 0)).walk("CaseAccepted")
    case.do("CaseDispatched", at=sh(2026, 12, 14, 10, 0))
    case.do("CaseClaimed", at=sh(2026, 12, 14, 11, 0))
    case.do("CaseResolved", at=sh(2026, 12, 14, 15, 0))
    decision = case.decide("CaseVerified", at=sh(2027, 1, 4, 10, 0))
    _rejected(decision, Code.CALENDAR_GAP)
    assert "2027" in decision.message  # type: ignore[union-attr]


def test_the_fold_refuses_to_count_wall_clock_hours_beyond_the_calendar() -> None:
    case = _resolved_at_year_end()
    f = fold(case.records())
    d = resequenced(datum(case.log[-1]), f.r.last_sequence + 1)
    d = {
        **d,
        "passed": True,
        "worker_id": "w",
        "envelope": {**d["envelope"], "event_time": sh(2027, 1, 4, 10, 0)},
    }
    with pytest.raises(WorkingTimeUnknown, match="2027") as raised:
        fold_case(f.row, f.deadlines, "CaseVerified", d, case.ref)
    assert isinstance(raised.value, CorruptStream)  # dead-lettered with its reason
