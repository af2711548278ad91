"""Regression tests of the projection folds: working hours across New Year, a grid leader's
reports credited, a broken stream's dead letter keeping its bytes."""

from __future__ import annotations

from collections import Counter

from domain.stats_moves import case_deltas, visit_deltas
from projections.batch import Decoded, ProjectionState, fold_batch
from tests.unit.test_case_fold import (
    GRID,
    MARKET,
    WORLD,
    Case,
    Folded,
    fold,
    hours,
    sh,
)
from tests.unit.test_reference_view import DAY0, ev
from tests.unit.test_stats_fold import visit


# --- working hours across New Year are working hours, in the calendars recorded ---
def test_handling_hours_across_new_year_are_working_hours() -> None:
    case = Case("case-ny-1")
    case.do("CaseReported", sh(2025, 12, 30, 9, 0))
    case.do("CaseAccepted", sh(2025, 12, 30, 9, 30))
    case.do("CaseDispatched", sh(2025, 12, 30, 10, 0))  # claim deadline records "2025.1"
    case.do("CaseReturned", sh(2026, 1, 5, 9, 0))
    case.do("CaseDispatched", sh(2026, 1, 5, 10, 0), department_code=MARKET)  # "2026.1"
    case.do("CaseClaimed", sh(2026, 1, 5, 11, 0), department_code=MARKET)  # handle: "2026.1"
    case.do("CaseResolved", sh(2026, 1, 6, 10, 0), department_code=MARKET)
    f = fold(case.records())
    expected = hours(sh(2025, 12, 30, 10, 0), sh(2026, 1, 6, 10, 0))
    assert expected == 30.0
    assert f.r.handling_hours == expected


def test_a_suspension_across_new_year_adds_working_hours() -> None:
    case = Case("case-ny-2")
    case.do("CaseReported", sh(2025, 12, 22, 8, 30))
    case.do("CaseAccepted", sh(2025, 12, 22, 8, 45))
    case.do("CaseDispatched", sh(2025, 12, 22, 9, 0))
    case.do("CaseClaimed", sh(2025, 12, 22, 9, 30))  # handle due 29 Dec: records "2025.1"
    case.do("CaseSuspended", sh(2025, 12, 23, 10, 0))
    case.do("CaseResumed", sh(2026, 1, 6, 10, 0))
    case.do("CaseResolved", sh(2026, 1, 7, 10, 0))
    f = fold(case.records())
    paused = hours(sh(2025, 12, 23, 10, 0), sh(2026, 1, 6, 10, 0))
    assert paused == 67.5
    assert f.r.suspended_hours == paused
    handling = hours(sh(2025, 12, 22, 9, 0), sh(2026, 1, 7, 10, 0)) - paused
    assert f.r.handling_hours == handling == 16.0


def test_lateness_of_a_deadline_done_after_new_year_is_in_working_hours() -> None:
    case = Case("case-ny-3")
    case.do("CaseReported", sh(2025, 12, 30, 9, 0))
    case.do("CaseAccepted", sh(2025, 12, 30, 9, 30))
    case.do("CaseDispatched", sh(2025, 12, 30, 10, 0))  # claim due 31 Dec 10:30, "2025.1"
    case.do("CaseClaimed", sh(2026, 1, 5, 9, 0))
    claim = fold(case.records()).deadline("claim")
    assert claim.due_time == sh(2025, 12, 31, 10, 30)
    late = hours(claim.due_time, sh(2026, 1, 5, 9, 0))
    assert claim.lateness_hours == late


# --- a grid leader's reports count for the leader ---
LEADER = "leader-007"
WITH_LEADER = WORLD.apply(
    ev("WorkerAssigned", worker_id=LEADER, role="grid_leader", grid_id=GRID, effective_from=DAY0)
)


def test_a_grid_leaders_report_from_a_visit_counts_for_the_leader() -> None:
    case = Case("case-leader", ref=WITH_LEADER)
    case.do("CaseReported", sh(2025, 3, 3, 9, 0), actor=(LEADER, "grid_leader"))
    f = Folded()
    ((event_type, d),) = case.records()
    step = f.feed(event_type, d, WITH_LEADER)
    assert step is not None
    mine = Counter(m for level, code, _, m, _ in case_deltas(event_type, d, step) if code == LEADER)
    visits = Counter(
        m
        for level, code, _, m, _ in visit_deltas(
            visit(sh(2025, 3, 3, 8, 45), worker=LEADER), WITH_LEADER
        )[1]
        if code == LEADER
    )
    assert visits["visits"] == 1  # the leader's visits count for the leader ...
    assert mine == {"reported": 1, "discovered": 1}


# --- a broken stream's dead letter keeps the record's bytes, for <topic>.dlq ---
def test_a_dead_letter_keeps_the_original_bytes() -> None:
    case = Case("case-dlq")
    case.do("CaseReported", sh(2025, 3, 3, 9, 0))
    case.do("CaseAccepted", sh(2025, 3, 3, 9, 30))
    (_, d1), (t2, d2) = case.records()
    gap = {**d2, "envelope": {**d2["envelope"], "sequence": 3}}
    raw = b"\x00\x00\x00\x00\x07original-record-bytes"
    records = [
        Decoded("case", "fq.case.events", 0, 10, "CaseReported", d1),
        Decoded("case", "fq.case.events", 0, 11, t2, gap, raw=raw),  # type: ignore[call-arg]
    ]
    changes = fold_batch(ProjectionState(ref=WORLD), records)
    assert [x.raw for x in changes.dead_letters] == [raw]
