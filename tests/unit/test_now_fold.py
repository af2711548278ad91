"""The current state as counters (``unit_now``): after every event, the counts a batch's
moves add up to are the cases as they stand, by place and department, status, open and
overdue; a transfer moves them between departments; however the log is cut into batches,
the rows and their sums are the same."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.case_fold import fold_case
from domain.case_state import Status
from domain.stats_moves import Unit
from projections.batch import Changes, Decoded, ProjectionState, fold_batch
from projections.now_fold import NOW_COLUMNS, STATUS_COLUMNS, now_moves, standing
from tests.unit.test_batch_fold import CASES, RECORDS, fresh
from tests.unit.test_case_fold import (
    DISTRICT,
    GRID,
    LAW,
    MARKET,
    MON,
    TUE,
    WORLD,
    Case,
    busy_case,
    closed_case,
    sh,
)
from tests.unit.test_stats_fold import PLACES

Counts = Counter[tuple[Unit, str]]


def accumulated(rows: dict[Unit, list[object]]) -> Counts:
    """``unit_now`` rows as (unit, column) counts, without the zeros."""
    out: Counts = Counter()
    for unit, row in rows.items():
        assert tuple(row[:2]) == unit
        for column, n in zip(NOW_COLUMNS, row[2:], strict=True):
            if n:
                out[(unit, column)] += n  # type: ignore[operator]
    return out


def recounted(state: ProjectionState) -> Counts:
    """The same counts made from scratch: every case where it stands now."""
    out: Counts = Counter()
    for case_id, row in state.cases.items():
        s = standing(row, state.deadlines.get(case_id, ()))
        for unit in s.units:
            out[(unit, STATUS_COLUMNS[s.status])] += 1
            out[(unit, "open")] += s.open
            out[(unit, "overdue")] += s.overdue
    return +out


def one_by_one(case: Case) -> Iterable[tuple[str, ProjectionState, Changes]]:
    """The case's events folded one at a time into one batch; after each, the state."""
    state, changes = fresh(), Changes()
    for offset, (event_type, d) in enumerate(case.records()):
        fold_batch(state, [Decoded("case", CASES, 0, offset, event_type, d)], changes)
        yield event_type, state, changes


def test_after_every_record_the_counts_are_the_cases_as_they_stand() -> None:
    state, changes = fresh(), Changes()
    for record in RECORDS:
        fold_batch(state, [record], changes)
        assert accumulated(changes.now_rows) == recounted(state)
    assert recounted(state)[(("district", DISTRICT), "status_closed")] == 1


def test_a_lifecycle_through_every_status_counts_the_case_once_where_it_is() -> None:
    case = busy_case()  # reported … suspended … verified, closed, reopened
    seen = set()
    for _, state, changes in one_by_one(case):
        counts = accumulated(changes.now_rows)
        row = state.cases[case.case_id]
        seen.add(row.status)
        grid = ("grid", GRID)
        statuses = {c: n for (u, c), n in counts.items() if u == grid and c.startswith("status_")}
        assert statuses == {STATUS_COLUMNS[row.status]: 1}
        assert counts[(grid, "open")] == (row.status not in ("closed", "rejected"))
    rejected = Case("case-r")
    rejected.do("CaseReported", sh(*MON, 9, 0))
    rejected.do("CaseRejected", sh(*MON, 9, 30))
    *_, (_, _, changes) = one_by_one(rejected)
    assert accumulated(changes.now_rows)[(("grid", GRID), "status_rejected")] == 1
    assert seen | {"rejected"} == {str(s) for s in Status}


def test_a_transfer_moves_the_case_from_one_department_to_the_other() -> None:
    case = busy_case()
    for event_type, _, changes in one_by_one(case):
        if event_type == "CaseTransferred":
            counts = accumulated(changes.now_rows)
            break
    law, market = ("department", LAW), ("department", MARKET)
    assert counts[(law, "status_dispatched")] == counts[(law, "open")] == 0
    assert counts[(market, "status_dispatched")] == counts[(market, "open")] == 1
    assert law in changes.now_rows  # a row for every unit the case stood in


def test_a_return_takes_the_case_out_of_its_department() -> None:
    case = Case()
    case.do("CaseReported", sh(*MON, 9, 0))
    case.do("CaseAccepted", sh(*MON, 9, 30))
    case.do("CaseDispatched", sh(*MON, 10, 0))
    case.do("CaseReturned", sh(*MON, 11, 0), department_code=LAW)
    *_, (_, state, changes) = one_by_one(case)
    counts = accumulated(changes.now_rows)
    assert state.cases[case.case_id].status == "accepted"
    assert not [k for k in counts if k[0] == ("department", LAW)]
    assert counts[(("grid", GRID), "status_accepted")] == 1


def test_a_breached_deadline_makes_the_case_overdue_until_its_stage_is_done() -> None:
    case = Case()
    case.do("CaseReported", sh(*MON, 9, 0))
    case.do("CaseAccepted", sh(*MON, 9, 30))
    case.do("CaseDispatched", sh(*MON, 10, 0))
    case.signal(sh(*TUE, 12, 0))  # warned and breached
    case.do("CaseClaimed", sh(*TUE, 14, 0))
    overdue = []
    for event_type, _, changes in one_by_one(case):
        counts = accumulated(changes.now_rows)
        overdue.append((event_type, counts[(("department", LAW), "overdue")]))
        assert all(counts[(unit, "overdue")] == overdue[-1][1] for unit in PLACES)
    assert [n for t, n in overdue if t == "DeadlineBreached"] == [1]
    assert [n for t, n in overdue if t == "CaseClaimed"] == [0]
    assert overdue[-1][1] == 0  # the handle deadline the claim scheduled is not breached


def test_an_event_that_leaves_the_case_where_it_stands_moves_nothing() -> None:
    case = closed_case()
    still = {t for (t, _), moves in zip(case.records(), _moves(case), strict=True) if not moves}
    assert still == {"DeadlineScheduled", "CaseEvaluated"}  # every other step moved the status


def _moves(case: Case) -> list[list[object]]:
    out: list[list[object]] = []
    row, deadlines = None, ()
    for event_type, d in case.records():
        step = fold_case(row, deadlines, event_type, d, WORLD)
        assert step is not None
        old = None if row is None else standing(row, deadlines)
        out.append(list(now_moves(old, standing(step.after, step.deadlines))))
        row, deadlines = step.after, step.deadlines
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(RECORDS) - 1), max_size=8))
def test_the_rows_and_sums_do_not_depend_on_how_the_log_is_cut(cuts: list[int]) -> None:
    bounds = [0, *sorted(set(cuts)), len(RECORDS)]
    state = fresh()
    rows: Counter[tuple[Unit, str]] = Counter()
    units: set[Unit] = set()
    for a, b in itertools.pairwise(bounds):
        changes = fold_batch(state, RECORDS[a:b])
        units |= set(changes.now_rows)
        for unit, row in changes.now_rows.items():
            for column, n in zip(NOW_COLUMNS, row[2:], strict=True):
                rows[(unit, column)] += n  # type: ignore[operator]
    whole = fold_batch(fresh(), RECORDS)
    assert units == set(whole.now_rows)
    assert +rows == accumulated(whole.now_rows)
