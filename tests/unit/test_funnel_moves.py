"""The funnel's cohort: the cases reported on a day, counted at every stage they have got
through (with all the stages before it), on the report's day, for their places and the
department first dispatched to; never a stage holding more than the one before."""

from __future__ import annotations

from collections import Counter
from datetime import date

from domain.funnel_moves import FUNNEL_METRICS, FUNNEL_SQL, funnel_moves, reached
from domain.stats_moves import METRICS
from domain.stats_moves import deltas as move_deltas
from tests.unit.test_case_fold import (
    DISTRICT,
    LAW,
    MARKET,
    MON,
    TUE,
    Case,
    Folded,
    busy_case,
    closed_case,
    in_progress,
    sh,
)

MONDAY = date(*MON)
ALL = dict.fromkeys(FUNNEL_METRICS, 1)


def _net(case: Case, unit: tuple[str, str]) -> Counter[str]:
    """The funnel counters of ``unit`` after the whole case, each checked to be on Monday."""
    f = Folded()
    net: Counter[str] = Counter()
    for event_type, d in case.records():
        step = f.feed(event_type, d)
        assert step is not None
        moved = funnel_moves(step)
        if moved is None:
            continue
        for level, code, day, metric, amount in move_deltas(*moved):
            assert day == MONDAY  # the report's day, whenever the step happened
            if (level, code) == unit:
                net[metric] += amount
    return +net


def test_every_funnel_counter_is_a_stored_metric() -> None:
    assert set(FUNNEL_METRICS) <= set(METRICS)
    assert list(FUNNEL_SQL) == list(FUNNEL_METRICS)


def test_a_closed_case_counts_at_every_stage_for_its_places_and_department() -> None:
    case = closed_case()
    assert _net(case, ("district", DISTRICT)) == ALL
    assert _net(case, ("department", LAW)) == ALL


def test_a_case_in_progress_counts_up_to_its_dispatch() -> None:
    case = in_progress()
    expected = {"funnel_accepted": 1, "funnel_dispatched": 1}
    assert _net(case, ("district", DISTRICT)) == expected
    # the department gets what the case had reached when first dispatched to it, at once
    assert _net(case, ("department", LAW)) == expected


def test_a_rejected_report_leaves_the_funnel_at_the_report() -> None:
    case = Case()
    case.do("CaseReported", sh(*MON, 9, 0))
    case.do("CaseRejected", sh(*MON, 9, 30))
    assert _net(case, ("district", DISTRICT)) == {}


def test_a_reopened_case_leaves_closed_until_closed_again() -> None:
    case = closed_case()
    case.do("CaseReopened", sh(*TUE, 15, 0))
    reopened = {m: 1 for m in FUNNEL_METRICS if m != "funnel_closed"}
    assert _net(case, ("district", DISTRICT)) == reopened
    case.do("CaseResolved", sh(*TUE, 16, 0))
    case.do("CaseVerified", sh(*TUE, 16, 30))
    case.do("CaseClosed", sh(*TUE, 17, 0))
    assert _net(case, ("district", DISTRICT)) == ALL


def test_a_transferred_and_reworked_case_counts_once_for_the_first_department() -> None:
    case = busy_case()  # transferred to MARKET, reworked, closed, then reopened
    assert _net(case, ("department", LAW)) == {m: 1 for m in FUNNEL_METRICS[:-1]}
    assert _net(case, ("department", MARKET)) == {}


def test_no_stage_is_reached_without_every_stage_before_it() -> None:
    f = Folded()
    for event_type, d in busy_case().records():
        step = f.feed(event_type, d)
        assert step is not None
        stages = reached(step.after)
        assert list(stages) == sorted(stages, reverse=True)  # 1s, then 0s
    assert reached(None) == (0,) * len(FUNNEL_METRICS)
