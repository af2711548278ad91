"""Statistics as additive counters: which (level, code, day, metric, amount) each canonical
case event and each visit produces.

Places count for the grid's parents when the case was reported, departments and workers for
whoever acted, and every counter lands on the Asia/Shanghai day of the event time, whenever
the platform learned of it.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from domain.stats_moves import (
    METRICS,
    PLACE_LEVELS,
    Delta,
    case_deltas,
    cohort_moves,
    quarter_of,
    visit_deltas,
)
from domain.stats_moves import (
    deltas as move_deltas,
)
from events.models import model_for
from tests.unit.test_case_fold import (
    BEFORE_REGRID,
    DISTRICT,
    GRID,
    GRID_2,
    LAW,
    MARKET,
    MON,
    STREET,
    TUE,
    VILLAGE,
    VILLAGE_2,
    WORKER,
    WORKER_2,
    WORLD,
    Case,
    Datum,
    Folded,
    busy_case,
    closed_case,
    datum,
    in_progress,
    sh,
)

PLACES = (("district", DISTRICT), ("street", STREET), ("village", VILLAGE), ("grid", GRID))
MONDAY = date(*MON)


def deltas(case: Case, ref: Any = WORLD) -> list[tuple[str, list[Delta]]]:
    """Each canonical event of the case with the deltas it produces, in log order."""
    f = Folded()
    out = []
    for event_type, d in case.records():
        step = f.feed(event_type, d, ref)
        assert step is not None
        out.append((event_type, case_deltas(event_type, d, step)))
    return out


def last(case: Case, event_type: str) -> list[Delta]:
    """The deltas of the last ``event_type`` event of the case."""
    return [ds for t, ds in deltas(case) if t == event_type][-1]


def expect(
    day: date,
    metrics: dict[str, int],
    *,
    places: tuple[tuple[str, str], ...] = PLACES,
    department: str | None = None,
    worker: str | None = None,
) -> Counter[Delta]:
    """Each metric once for every place, and for the department and worker if given."""
    units = [*places]
    units += [("department", department)] if department else []
    units += [("worker", worker)] if worker else []
    return Counter((level, code, day, m, n) for m, n in metrics.items() for level, code in units)


def test_the_metric_names_and_place_levels() -> None:
    assert PLACE_LEVELS == ("district", "street", "village", "grid")
    assert len(set(METRICS)) == len(METRICS)


# --- case events -----------------------------------------------------------------------------
def test_a_grid_workers_report_from_a_visit_is_reported_and_discovered() -> None:
    case = closed_case()
    assert Counter(last(case, "CaseReported")) == expect(
        MONDAY, {"reported": 1, "discovered": 1}, worker=WORKER
    )


def test_a_residents_report_counts_for_the_places_only() -> None:
    case = Case()
    case.do(
        "CaseReported",
        sh(*MON, 9, 0),
        channel="resident",
        visit_id=None,
        actor=("resident-1", "resident"),
    )
    assert Counter(last(case, "CaseReported")) == expect(MONDAY, {"reported": 1})


def test_a_grid_workers_report_by_hotline_is_reported_but_not_discovered() -> None:
    case = Case()
    case.do("CaseReported", sh(*MON, 9, 0), channel="hotline", visit_id=None)
    assert Counter(last(case, "CaseReported")) == expect(MONDAY, {"reported": 1}, worker=WORKER)


@pytest.mark.parametrize(
    ("event_type", "metric"),
    [("CaseAccepted", "accepted"), ("CaseClosed", "closed")],
)
def test_centre_steps_count_for_the_places(event_type: str, metric: str) -> None:
    day = MONDAY if event_type == "CaseAccepted" else date(*TUE)
    assert Counter(last(closed_case(), event_type)) == expect(day, {metric: 1})


def test_a_rejection_counts_for_the_places() -> None:
    case = Case()
    case.do("CaseReported", sh(*MON, 9, 0))
    case.do("CaseRejected", sh(*MON, 9, 45))
    assert Counter(last(case, "CaseRejected")) == expect(MONDAY, {"rejected": 1})


def test_a_dispatch_counts_for_the_places_and_the_department() -> None:
    assert Counter(last(closed_case(), "CaseDispatched")) == expect(
        MONDAY, {"dispatched": 1}, department=LAW
    )


def test_a_transfer_is_a_hand_off_of_the_giver_and_a_dispatch_to_the_taker() -> None:
    case = in_progress()
    case.do("CaseTransferred", sh(*MON, 14, 0))
    got = Counter(last(case, "CaseTransferred"))
    want = expect(MONDAY, {"hand_offs": 1}, department=LAW)
    want[("department", MARKET, MONDAY, "dispatched", 1)] += 1
    assert got == want


def test_a_return_is_a_hand_off_of_the_department() -> None:
    case = in_progress()
    case.do("CaseReturned", sh(*MON, 14, 0))
    assert Counter(last(case, "CaseReturned")) == expect(MONDAY, {"hand_offs": 1}, department=LAW)


def test_a_resolution_in_time_counts_resolved_on_time_and_the_handling_minutes() -> None:
    got = Counter(last(closed_case(), "CaseResolved"))
    assert got == expect(
        date(*TUE),
        {"resolved": 1, "resolved_on_time": 1, "handling_minutes": 450},
        department=LAW,
    )


def test_a_late_resolution_is_not_on_time_and_counts_its_breach_without_a_signal() -> None:
    case = in_progress()  # handle due Monday 10 March 15:00
    case.do("CaseResolved", sh(2025, 3, 10, 17, 0))
    got = Counter(last(case, "CaseResolved"))
    handling = 6 + 4 * 7.5 + 7  # from the dispatch, Mon 3 March 10:00, to Mon 10 March 17:00
    assert got == expect(
        date(2025, 3, 10),
        {"resolved": 1, "handling_minutes": round(handling * 60), "breaches": 1},
        department=LAW,
    )


def test_a_passed_verification_counts_for_the_places_and_the_verifying_worker() -> None:
    assert Counter(last(closed_case(), "CaseVerified")) == expect(
        date(*TUE),
        {"verifications": 1, "verifications_passed": 1, "verifications_on_time": 1},
        worker=WORKER,
    )


def test_a_failed_verification_is_a_rework_of_the_department() -> None:
    case = in_progress()
    case.do("CaseResolved", sh(*TUE, 10, 0))
    case.do("CaseVerified", sh(*TUE, 11, 0), passed=False)
    got = Counter(last(case, "CaseVerified"))
    want = expect(date(*TUE), {"verifications": 1, "verifications_on_time": 1}, worker=WORKER)
    want.update(expect(date(*TUE), {"reworks": 1}, department=LAW))
    assert got == want


def test_a_late_verification_is_not_on_time() -> None:
    case = in_progress()
    case.do("CaseResolved", sh(*TUE, 10, 0))  # verify: 16 working hours, due Thu 10:00
    case.do("CaseVerified", sh(2025, 3, 7, 10, 0))
    got = Counter(last(case, "CaseVerified"))
    want = expect(date(2025, 3, 7), {"verifications": 1, "verifications_passed": 1}, worker=WORKER)
    want.update(expect(date(2025, 3, 6), {"breaches": 1}, places=(), department=LAW))
    want.update(expect(date(2025, 3, 6), {"breaches": 1}))
    assert got == want


def test_a_reopen_is_a_rework_of_the_department_that_held_the_case() -> None:
    case = closed_case()
    case.do("CaseReopened", sh(*TUE, 15, 0))
    assert Counter(last(case, "CaseReopened")) == expect(date(*TUE), {"reworks": 1}, department=LAW)


def test_an_evaluation_adds_its_satisfaction_for_the_places_and_the_department() -> None:
    assert Counter(last(closed_case(), "CaseEvaluated")) == expect(
        date(*TUE), {"evaluations": 1, "satisfaction_sum": 4}, department=LAW
    )


def test_extensions_and_escalations_count() -> None:
    case = in_progress()
    case.do("CaseExtended", sh(*MON, 15, 0))
    case.do("CaseEscalated", sh(*MON, 16, 0))
    assert Counter(last(case, "CaseExtended")) == expect(MONDAY, {"extensions": 1}, department=LAW)
    assert Counter(last(case, "CaseEscalated")) == expect(MONDAY, {"escalations": 1})


def test_a_breach_counts_on_its_due_day_when_its_stage_ends_not_when_signalled() -> None:
    case = Case()
    case.do("CaseReported", sh(*MON, 9, 0))
    case.do("CaseAccepted", sh(*MON, 9, 30))
    case.do("CaseDispatched", sh(*MON, 10, 0))  # claim due Tue 10:30
    case.signal(sh(*TUE, 9, 0))
    case.signal(sh(2025, 3, 7, 11, 0))  # the trigger came back on Friday
    assert last(case, "DeadlineWarned") == []
    assert last(case, "DeadlineBreached") == []
    case.do("CaseClaimed", sh(2025, 3, 7, 11, 30), department_code=LAW)
    assert Counter(last(case, "CaseClaimed")) == expect(date(*TUE), {"breaches": 1}, department=LAW)


def _claim_due_tuesday() -> Case:
    case = Case()
    case.do("CaseReported", sh(*MON, 9, 0))
    case.do("CaseAccepted", sh(*MON, 9, 30))
    case.do("CaseDispatched", sh(*MON, 10, 0))  # claim due Tue 10:30
    return case


def test_a_breach_is_the_same_whether_the_trigger_ran_live_late_or_not_at_all() -> None:
    live, late, off = _claim_due_tuesday(), _claim_due_tuesday(), _claim_due_tuesday()
    live.signal(sh(*TUE, 10, 30))
    late.signal(sh(2025, 3, 12, 9, 0))
    for case in (live, late, off):
        case.do("CaseClaimed", sh(*TUE, 15, 0), department_code=LAW)
    totals = [
        Counter(x for _, ds in deltas(case) for x in ds if x[3] == "breaches")
        for case in (live, late, off)
    ]
    assert (
        totals[0] == totals[1] == totals[2] == expect(date(*TUE), {"breaches": 1}, department=LAW)
    )


def test_a_late_post_of_a_step_done_in_time_after_the_breach_is_on_time() -> None:
    case = in_progress()  # handle due Monday 10 March 15:00
    case.signal(sh(2025, 3, 10, 15, 0))
    case.do(  # resolved on Friday, posted after the breach
        "CaseResolved", sh(2025, 3, 7, 16, 0), recorded=sh(2025, 3, 10, 16, 0)
    )
    got = Counter(last(case, "CaseResolved"))
    assert got[("department", LAW, date(2025, 3, 7), "resolved_on_time", 1)] == 1
    assert not [x for _, ds in deltas(case) for x in ds if x[3] == "breaches"]


@pytest.mark.parametrize(
    "event_type", ["DeadlineScheduled", "CaseClaimed", "CaseSuspended", "CaseResumed"]
)
def test_steps_without_a_counter(event_type: str) -> None:
    case = in_progress()
    case.do("CaseSuspended", sh(*MON, 14, 0))
    case.do("CaseResumed", sh(*MON, 15, 0))
    assert all(ds == [] for t, ds in deltas(case) if t == event_type)


def test_a_whole_closed_loop_adds_up_for_its_district() -> None:
    total: Counter[str] = Counter()
    for _, ds in deltas(closed_case()):
        for level, code, _, metric, amount in ds:
            if (level, code) == ("district", DISTRICT):
                total[metric] += amount
    assert total == {
        "reported": 1,
        "discovered": 1,
        "accepted": 1,
        "dispatched": 1,
        "resolved": 1,
        "resolved_on_time": 1,
        "handling_minutes": 450,
        "verifications": 1,
        "verifications_passed": 1,
        "verifications_on_time": 1,
        "closed": 1,
        "evaluations": 1,
        "satisfaction_sum": 4,
    }


# --- which day -------------------------------------------------------------------------------
def test_the_day_is_the_shanghai_date_of_the_event_time() -> None:
    case = Case()
    case.do("CaseReported", datetime.fromisoformat("2025-03-31T17:30:00+00:00"))
    got = last(case, "CaseReported")
    assert {day for _, _, day, _, _ in got} == {date(2025, 4, 1)}
    assert quarter_of(date(2025, 4, 1)) == "2025-Q2"


def test_an_event_just_before_local_midnight_stays_on_its_day() -> None:
    case = Case()
    case.do("CaseReported", datetime.fromisoformat("2025-03-31T15:59:59+00:00"))
    assert {day for _, _, day, _, _ in last(case, "CaseReported")} == {date(2025, 3, 31)}


def test_a_late_post_counts_on_the_day_it_happened() -> None:
    case = Case()
    case.do("CaseReported", sh(*MON, 9, 0))
    case.do("CaseAccepted", sh(*MON, 9, 30))
    case.do("CaseDispatched", sh(*MON, 10, 0))
    case.do("CaseClaimed", sh(*MON, 11, 0), recorded=sh(2025, 3, 12, 9, 0))  # posted 9 days late
    case.do("CaseResolved", sh(*TUE, 10, 0), recorded=sh(2025, 4, 2, 9, 0))  # next quarter
    got = last(case, "CaseResolved")
    assert got and {day for _, _, day, _, _ in got} == {date(*TUE)}
    assert quarter_of(date(*TUE)) == "2025-Q1"


@pytest.mark.parametrize(
    ("day", "quarter"),
    [
        (date(2025, 1, 1), "2025-Q1"),
        (date(2025, 3, 31), "2025-Q1"),
        (date(2025, 4, 1), "2025-Q2"),
        (date(2025, 6, 30), "2025-Q2"),
        (date(2025, 7, 1), "2025-Q3"),
        (date(2025, 9, 30), "2025-Q3"),
        (date(2025, 10, 1), "2025-Q4"),
        (date(2025, 12, 31), "2025-Q4"),
        (date(2026, 1, 1), "2026-Q1"),
    ],
)
def test_quarter_of(day: date, quarter: str) -> None:
    assert quarter_of(day) == quarter


# --- places as they were ---------------------------------------------------------------------
def test_a_case_counts_for_its_report_time_village_after_a_regridding() -> None:
    case = Case("case-june")
    case.do("CaseReported", sh(2025, 6, 30, 9, 0), grid_id=GRID_2, actor=(WORKER_2, "grid_worker"))
    case.do("CaseAccepted", sh(2025, 7, 1, 9, 0))
    case.do("CaseDispatched", sh(2025, 7, 1, 10, 0))
    got = deltas(case)
    villages = {code for _, ds in got for level, code, *_ in ds if level == "village"}
    assert villages == {VILLAGE}
    grids = {code for _, ds in got for level, code, *_ in ds if level == "grid"}
    assert grids == {GRID_2}


def test_a_case_reported_after_the_regridding_counts_for_the_new_village() -> None:
    case = Case("case-july")
    case.do("CaseReported", sh(2025, 7, 1, 9, 0), grid_id=GRID_2, actor=(WORKER_2, "grid_worker"))
    got = last(case, "CaseReported")
    assert {code for level, code, *_ in got if level == "village"} == {VILLAGE_2}


# --- visits ----------------------------------------------------------------------------------
_visit_ids = itertools.count(1)


def visit(
    at: datetime,
    *,
    grid: str = GRID,
    worker: str = WORKER,
    households: int = 12,
    findings: tuple[str, ...] = ("case-2025-000123",),
    sequence: int = 1,
    recorded: datetime | None = None,
    started: datetime | None = None,
) -> Datum:
    """The Avro datum of a canonical visit that ended at ``at``."""
    started = started or at - timedelta(hours=2)
    n = next(_visit_ids)
    event = model_for("VisitRecorded").model_validate(
        {
            "envelope": {
                "event_id": f"visit-ev-{n}",
                "event_time": at,
                "recorded_time": recorded or at + timedelta(minutes=1),
                "source_system": "gridapp",
                "actor": {"id": worker, "role": "grid_worker"},
                "sequence": sequence,
            },
            "visit_id": f"visit-{n}",
            "grid_id": grid,
            "worker_id": worker,
            "started_at": started,
            "ended_at": at,
            "households_visited": households,
            "items_checked": ["city_appearance"],
            "findings": list(findings),
            "track": [
                {"t": started, "lat": 29.94, "lon": 121.59},
                {"t": at, "lat": 29.95, "lon": 121.6},
            ],
            "notes": None,
        }
    )
    return datum(event)


def test_a_visit_counts_visits_households_and_findings_for_places_and_worker() -> None:
    chain, got = visit_deltas(visit(sh(*MON, 11, 0)), WORLD)
    assert {k: chain[k] for k in PLACE_LEVELS} == {
        "district": DISTRICT,
        "street": STREET,
        "village": VILLAGE,
        "grid": GRID,
    }
    assert Counter(got) == expect(
        MONDAY, {"visits": 1, "households": 12, "findings": 1}, worker=WORKER
    )


def test_a_visit_without_households_or_findings_counts_only_the_visit() -> None:
    _, got = visit_deltas(visit(sh(*MON, 11, 0), households=0, findings=()), WORLD)
    assert Counter(got) == expect(MONDAY, {"visits": 1}, worker=WORKER)


def test_a_visit_counts_on_the_shanghai_day_of_its_event_time_even_when_posted_late() -> None:
    at = datetime.fromisoformat("2025-03-31T17:30:00+00:00")
    _, got = visit_deltas(visit(at, recorded=at + timedelta(days=3)), WORLD)
    assert {day for _, _, day, _, _ in got} == {date(2025, 4, 1)}


def test_a_visit_counts_for_the_parents_in_force_when_it_started() -> None:
    before = visit(sh(2025, 6, 30, 11, 0), grid=GRID_2, worker=WORKER_2)
    after = visit(sh(2025, 7, 1, 11, 0), grid=GRID_2, worker=WORKER_2)
    assert visit_deltas(before, WORLD)[0]["village"] == VILLAGE
    assert visit_deltas(after, WORLD)[0]["village"] == VILLAGE_2
    assert visit_deltas(after, BEFORE_REGRID)[0]["village"] == VILLAGE  # as known before


def test_a_visit_on_an_unknown_grid_counts_for_the_grid_and_the_worker() -> None:
    chain, got = visit_deltas(visit(sh(*MON, 11, 0), grid="330211004009009"), WORLD)
    assert chain == {"grid": "330211004009009"}
    assert Counter(got) == expect(
        MONDAY,
        {"visits": 1, "households": 12, "findings": 1},
        places=(("grid", "330211004009009"),),
        worker=WORKER,
    )


def test_every_counter_is_an_integer_of_a_known_metric_negative_only_when_taken_back() -> None:
    case = busy_case()
    all_deltas = [d for _, ds in deltas(case) for d in ds]
    all_deltas += visit_deltas(visit(sh(*MON, 11, 0)), WORLD)[1]
    assert all_deltas
    for level, code, day, metric, amount in all_deltas:
        assert level in (*PLACE_LEVELS, "department", "worker") and code
        assert isinstance(day, date) and metric in METRICS
        assert type(amount) is int and amount != 0
        assert amount > 0 or metric in ("resolved", "resolved_on_time", "handling_minutes")


# --- 结案率's cohort: the cases first dispatched on a day, and of them those closed ---------------
def cohort(case: Case) -> list[tuple[str, list[Delta]]]:
    """Each event of the case with the cohort counters it moves."""
    f = Folded()
    out = []
    for event_type, d in case.records():
        step = f.feed(event_type, d, WORLD)
        assert step is not None
        found = cohort_moves(event_type, step)
        out.append((event_type, move_deltas(*found) if found is not None else []))
    return out


def test_a_case_is_due_to_close_from_its_first_dispatch_for_its_places_and_department() -> None:
    moved = dict(cohort(closed_case()))
    assert Counter(moved["CaseDispatched"]) == expect(MONDAY, {"due_to_close": 1}, department=LAW)
    # closed on Tuesday, counted on Monday, the day it became due
    assert Counter(moved["CaseClosed"]) == expect(
        MONDAY, {"closed_of_due": 1, "closed_on_time_of_due": 1}, department=LAW
    )
    assert all(ds == [] for t, ds in moved.items() if t not in ("CaseDispatched", "CaseClosed"))


def test_a_transfer_leaves_the_case_with_the_department_first_dispatched_to() -> None:
    moved = cohort(busy_case())
    dispatched = [ds for t, ds in moved if t in ("CaseDispatched", "CaseTransferred") and ds]
    assert len(dispatched) == 1  # due once, however often it moves on
    departments = {code for _, ds in moved for level, code, *_ in ds if level == "department"}
    assert departments == {LAW}


def test_reopening_a_closed_case_takes_back_its_close_and_closing_again_counts_it_once() -> None:
    case = closed_case()
    case.do("CaseReopened", sh(*TUE, 15, 0))
    assert _district_net(case) == {
        "due_to_close": 1,
        "closed_of_due": 0,
        "closed_on_time_of_due": 0,
    }


def test_a_case_never_dispatched_is_not_due() -> None:
    case = Case()
    case.do("CaseReported", sh(*MON, 9, 0))
    case.do("CaseRejected", sh(*MON, 9, 30))
    assert all(ds == [] for _, ds in cohort(case))


def _district_net(case: Case) -> Counter[str]:
    net: Counter[str] = Counter()
    for _, ds in cohort(case):
        for level, code, day, metric, amount in ds:
            if (level, code) == ("district", DISTRICT):
                assert day == MONDAY  # the cohort's day, the first dispatch's
                net[metric] += amount
    return net


def test_a_case_on_the_backlog_leaves_the_cases_due_and_comes_back_when_taken_off() -> None:
    case = in_progress()
    case.do("CaseParked", sh(*MON, 15, 0), review_date=date(2025, 4, 30))
    assert _district_net(case) == {"due_to_close": 0}  # due, then parked: not while it waits
    case.do("CaseUnparked", sh(*TUE, 9, 0))
    assert _district_net(case) == {"due_to_close": 1}
