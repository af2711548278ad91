"""A reworked case is resolved once: its final resolution counts, from the first dispatch, in
working hours, on the day it happened; an earlier resolution that failed verification is taken
back from its own day, and the rework counts as rework."""

from __future__ import annotations

from collections import Counter
from datetime import date

from projections.batch import Decoded, ProjectionState, fold_batch
from tests.unit.test_case_fold import WORLD, Case, in_progress
from tests.unit.test_reference_view import LAW, sh
from tests.unit.test_stats_fold import deltas

MON_10 = date(2025, 3, 10)
TUE_11 = date(2025, 3, 11)


def _reworked() -> Case:
    case = in_progress()  # dispatched Mon 3 March 10:00
    case.do("CaseResolved", sh(2025, 3, 10, 9, 0))
    case.do("CaseVerified", sh(2025, 3, 10, 10, 0), passed=False)
    case.do("CaseResolved", sh(2025, 3, 11, 10, 0))
    return case


def _totals(case: Case) -> Counter[tuple[date, str]]:
    out: Counter[tuple[date, str]] = Counter()
    for _, ds in deltas(case):
        for level, code, day, metric, amount in ds:
            if (level, code) == ("department", LAW):
                out[(day, metric)] += amount
    return +out  # without the zeros


def test_a_reworked_case_counts_one_resolution_with_its_whole_handling_time() -> None:
    totals = _totals(_reworked())
    handling = 6 + 4 * 7.5 + 7.5 + 1.5  # Mon 3 March 10:00 to Tue 11 March 10:00
    assert sum(n for (_, m), n in totals.items() if m == "resolved") == 1
    assert totals[(TUE_11, "resolved")] == 1 and totals[(MON_10, "resolved")] == 0
    assert sum(n for (_, m), n in totals.items() if m == "handling_minutes") == handling * 60
    assert totals[(MON_10, "reworks")] == 1


def test_the_resolutions_table_holds_a_reworked_case_once() -> None:
    case = _reworked()
    records = [
        Decoded("case", "fq.case.events", 0, n, t, d) for n, (t, d) in enumerate(case.records())
    ]
    whole = fold_batch(ProjectionState(ref=WORLD), records)
    assert [(r.case_id, r.day) for r in whole.resolutions] == [(case.case_id, TUE_11)]
    state = ProjectionState(ref=WORLD)
    last = max(n for n, r in enumerate(records) if r.event_type == "CaseResolved")
    first = fold_batch(state, records[:last])
    second = fold_batch(state, records[last:])
    assert [r.day for r in first.resolutions] == [MON_10]
    assert second.superseded == {case.case_id}
    assert [r.day for r in second.resolutions] == [TUE_11]
