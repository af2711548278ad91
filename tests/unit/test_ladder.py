"""The supervision ladder (催办 → 督办 → 通报) and the backlog (挂账) in the pure workflow: which
steps come due, at which instants, that each is taken once, and every refusal."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from domain.calendar import SHANGHAI, add_working_hours, working_hours_between
from domain.case_state import DeadlineStatus, Status
from domain.decisions import Accepted, Duplicate, Rejected
from domain.decisions import RejectionCode as Code
from domain.ladder import (
    due_steps,
    month_close,
    month_closes_between,
    step_submission,
)
from domain.ladder_policy import NO_LADDER, Ladder
from domain.reference_view import ReferenceView
from domain.state_machine import decide, due_signals, signal_submission
from events.models import (
    CASE_EVENTS,
    LADDER_EVENT_TYPES,
    CaseNoticed,
    CaseSupervised,
    CaseUrged,
    Event,
    to_avro,
)
from projections.batch import Changes, Decoded, ProjectionState, fold_batch
from projections.now_fold import NOW_COLUMNS
from projections.panels import terms
from tests.factories import example_data
from tests.unit.test_reference_view import REF, ev, limits, sh
from tests.unit.test_state_machine import Case, submission

LADDER = {
    "urge_every_hours": 4,
    "street_supervision_after_hours": 8,
    "district_supervision_after_hours": 16,
    "supervision_hours": 16,
    "monthly_notice": True,
}


def _policy(version: int, since: date, **ladder: Any) -> Event:
    return ev(
        "SlaPolicyDefined",
        policy_id="sla.default",
        version=version,
        limits=[{**limit, **ladder} for limit in limits()],
        effective_from=since,
    )


LADDERED = REF.apply_all([_policy(2, date(2025, 2, 1), **LADDER)])
CAL = LADDERED.calendar()


def dispatched(ref: ReferenceView = LADDERED) -> Case:
    """A case dispatched on Monday 3 March 2025: its claim is due 8 working hours later."""
    return Case(ref).walk("CaseAccepted", "CaseDispatched")


def drive(case: Case, now: datetime) -> list[Event]:
    """What the trigger does at ``now``, until nothing more is due: every signal and ladder
    step submitted, decided and applied; the events accepted."""
    accepted: list[Event] = []
    while True:
        state = case.s
        subs: list[Event] = [
            *(signal_submission(state.case_id, s, now) for s in due_signals(state, now, case.ref)),
            *(step_submission(state, step) for step in due_steps(state, now, case.ref)),
        ]
        taken = 0
        for sub in subs:
            decision = decide(case.state, sub, case.ref)
            if isinstance(decision, Accepted):
                accepted += case.apply(decision)
                taken += 1
        if not taken:
            return accepted


def claim_due(case: Case) -> datetime:
    deadline = case.s.open_deadline()
    assert deadline is not None and deadline.stage == "claim"
    return deadline.due_time


def after(due: datetime, hours: float) -> datetime:
    return add_working_hours(CAL, due, hours)


# --- the steps and their instants ------------------------------------------------------------
def test_an_overdue_case_climbs_the_ladder_at_the_instants_the_policy_sets() -> None:
    case = dispatched()
    due = claim_due(case)
    steps = drive(case, after(due, 17))
    ladder = [(e.event_type, e.envelope.event_time, getattr(e, "urge_number", None)) for e in steps]
    assert ladder[0][0] == "DeadlineBreached"
    assert ladder[1:] == [
        ("CaseUrged", after(due, 4), 1),
        ("CaseUrged", after(due, 8), 2),
        ("CaseSupervised", after(due, 8), None),
        ("CaseUrged", after(due, 12), 3),
        ("CaseUrged", after(due, 16), 4),
        ("CaseSupervised", after(due, 16), None),
    ]
    street, district = (e for e in steps if isinstance(e, CaseSupervised))
    assert (street.level, district.level) == ("street", "district")
    assert district.supervision_due_time == after(after(due, 16), 16)
    assert all(e.envelope.sequence is not None for e in steps)
    assert {getattr(e, "department_code", "dept.law-enforcement") for e in steps} == {
        case.s.department
    }
    assert case.s.supervision == "district"
    assert case.s.deadlines[-1].urges == 4


def test_steps_are_taken_once_whoever_asks_again() -> None:
    case = dispatched()
    due = claim_due(case)
    drive(case, after(due, 9))
    log = len(case.log)
    assert drive(case, after(due, 9)) == []  # a second pass of the trigger: nothing new
    urge = next(e for e in case.log if isinstance(e, CaseUrged))
    again = urge.model_copy(
        update={"envelope": urge.envelope.model_copy(update={"sequence": None})}
    )
    assert urge.envelope.sequence is not None
    assert decide(case.state, again, case.ref) == Duplicate(urge.envelope.sequence)
    # the same urge under another id is refused, not appended twice
    other = again.model_copy(
        update={"envelope": again.envelope.model_copy(update={"event_id": "other"})}
    )
    refused = decide(case.state, other, case.ref)
    assert isinstance(refused, Rejected) and refused.code is Code.DUPLICATE_DEADLINE_SIGNAL
    assert len(case.log) == log


def test_event_ids_and_times_come_from_the_log_not_the_clock() -> None:
    one, two = dispatched(), dispatched()
    due = claim_due(one)
    a = drive(one, after(due, 9))
    b = drive(two, after(due, 9) + timedelta(minutes=40))  # a trigger that ran later
    ladder = [e for e in a if e.event_type != "DeadlineBreached"]
    later = [e for e in b if e.event_type != "DeadlineBreached"]
    assert [e.envelope.event_id for e in ladder] == [e.envelope.event_id for e in later]
    assert [e.envelope.event_time for e in ladder] == [e.envelope.event_time for e in later]


def test_the_month_close_lists_an_overdue_case_once_with_its_supervision() -> None:
    case = dispatched()
    drive(case, datetime(2025, 4, 2, 9, 0, tzinfo=SHANGHAI))
    notices = [e for e in case.log if isinstance(e, CaseNoticed)]
    assert len(notices) == 1
    (notice,) = notices
    # decided in the order the steps fell due: the notice comes after both supervisions,
    # though the trigger built them all in one pass from the case before either
    kinds = [e.event_type for e in case.log]
    assert kinds.index("CaseNoticed") > max(i for i, k in enumerate(kinds) if k == "CaseSupervised")
    assert notice.period == "2025-03"
    assert notice.envelope.event_time == datetime(2025, 4, 1, tzinfo=SHANGHAI)
    assert notice.supervision_level == "district"
    assert case.s.noticed_period == "2025-03"
    assert drive(case, datetime(2025, 4, 20, 9, 0, tzinfo=SHANGHAI))[-1].event_type == ("CaseUrged")
    may = drive(case, datetime(2025, 6, 2, 9, 0, tzinfo=SHANGHAI))
    assert [e.period for e in may if isinstance(e, CaseNoticed)] == ["2025-04", "2025-05"]


def test_urging_stops_at_the_policy_s_most() -> None:
    ref = REF.apply_all([_policy(2, date(2025, 2, 1), urge_every_hours=2, max_urges=3)])
    case = dispatched(ref)
    due = claim_due(case)
    steps = drive(case, after(due, 40))
    assert [e.urge_number for e in steps if isinstance(e, CaseUrged)] == [1, 2, 3]
    assert case.s.supervision is None and not any(isinstance(e, CaseNoticed) for e in steps)


def test_month_closes() -> None:
    start = datetime(2025, 11, 20, tzinfo=UTC)
    closes = month_closes_between(start, datetime(2026, 1, 1, tzinfo=SHANGHAI))
    assert closes == [
        ("2025-11", datetime(2025, 12, 1, tzinfo=SHANGHAI)),
        ("2025-12", datetime(2026, 1, 1, tzinfo=SHANGHAI)),
    ]
    assert month_close("2025-12") == datetime(2026, 1, 1, tzinfo=SHANGHAI)
    assert month_closes_between(datetime(2025, 12, 1, tzinfo=SHANGHAI), start) == []


# --- a case that moved on, and every refusal -------------------------------------------------
def _urge(case: Case, number: int, at: datetime, **changes: Any) -> CaseUrged:
    d = case.s.deadlines[-1]
    data = example_data("CaseUrged")
    data["envelope"] |= {
        "event_time": at,
        "recorded_time": at,
        "actor": {"id": "t", "role": "system"},
    }
    data |= {
        "case_id": case.s.case_id,
        "deadline_id": d.deadline_id,
        "stage": d.stage,
        "due_time": d.due_time,
        "urge_number": number,
        "department_code": case.s.department,
        **changes,
    }
    return CaseUrged.model_validate(data)


def _refused(case: Case, event: Event, code: Code) -> None:
    decision = decide(case.state, event, case.ref)
    assert isinstance(decision, Rejected), decision
    assert decision.code is code, decision.message
    assert case.s.case_id in decision.message


def test_a_case_that_moved_on_refuses_a_stale_step() -> None:
    case = dispatched()
    due = claim_due(case)
    drive(case, after(due, 1))
    stale = _urge(case, 1, after(due, 4))
    case.do("CaseClaimed", at=after(due, 2))
    _refused(case, stale, Code.STALE_DEADLINE)
    assert due_steps(case.s, after(due, 40), case.ref) == []


def test_every_refusal_of_a_ladder_step() -> None:
    case = dispatched()
    due = claim_due(case)
    _refused(case, _urge(case, 1, after(due, 4)), Code.DEADLINE_NOT_DUE)  # not breached yet
    drive(case, after(due, 1))
    _refused(case, _urge(case, 1, after(due, 3)), Code.DEADLINE_NOT_DUE)  # too early
    _refused(case, _urge(case, 2, after(due, 4)), Code.LADDER_STEP_MISMATCH)  # skips one
    late = _urge(case, 1, after(due, 4) + timedelta(minutes=5))
    _refused(case, late, Code.LADDER_STEP_MISMATCH)  # not at its instant
    _refused(case, _urge(case, 1, after(due, 4), department_code="x"), Code.STALE_DEADLINE)
    _refused(case, _urge(case, 1, after(due, 4), deadline_id="nope"), Code.UNKNOWN_DEADLINE)
    outside = _urge(case, 1, after(due, 4))
    outside = outside.model_copy(
        update={
            "envelope": outside.envelope.model_copy(
                update={"actor": outside.envelope.actor.model_copy(update={"role": "department"})}
            )
        }
    )
    _refused(case, outside, Code.DERIVED_EVENT_FROM_OUTSIDE)
    assert isinstance(decide(case.state, _urge(case, 1, after(due, 4)), case.ref), Accepted)


def test_a_policy_without_a_ladder_signals_warning_and_breach_only() -> None:
    case = dispatched(REF)  # sla.default v1: no ladder
    due = claim_due(case)
    steps = drive(case, after(due, 100))
    assert [e.event_type for e in steps] == ["DeadlineBreached"]
    _refused(case, _urge(case, 1, after(due, 4)), Code.NO_LADDER_STEP)
    v1 = REF.sla_policy_version("sla.default", 1)
    assert v1 is not None and v1.limit("claim", "normal").ladder == NO_LADDER


def test_an_unknown_policy_version_refuses_the_step() -> None:
    case = dispatched()
    due = claim_due(case)
    drive(case, after(due, 1))
    forgetful = REF  # knows v1 only: the deadline recorded v2
    decision = decide(case.state, _urge(case, 1, after(due, 4)), forgetful)
    assert isinstance(decision, Rejected) and decision.code is Code.UNKNOWN_SLA_POLICY


# --- the backlog -----------------------------------------------------------------------------
def test_a_parked_case_stops_its_clock_and_comes_back_with_a_later_deadline() -> None:
    case = dispatched()
    case.do("CaseClaimed")
    handle = case.s.open_deadline()
    assert handle is not None
    parked_at = case.t + timedelta(minutes=30)
    case.do("CaseParked", at=parked_at, review_date=date(2025, 4, 30))
    assert case.s.status is Status.parked and case.s.suspended_at == parked_at
    assert due_signals(case.s, handle.due_time + timedelta(days=30), case.ref) == []
    assert due_steps(case.s, handle.due_time + timedelta(days=30), case.ref) == []
    back = sh(2025, 3, 10, 9, 0)  # the next Monday: most of five working days parked
    events = case.do("CaseUnparked", at=back)
    assert [e.event_type for e in events] == ["CaseUnparked", "DeadlineScheduled"]
    moved = case.s.open_deadline()
    assert moved is not None and moved.deadline_id == handle.deadline_id
    parked_hours = working_hours_between(CAL, parked_at, back)
    assert 32 < parked_hours < 40
    assert moved.status is DeadlineStatus.open
    assert moved.due_time == add_working_hours(CAL, handle.due_time, parked_hours)
    resumed = case.s
    assert resumed.status is Status.in_progress and resumed.suspended_at is None


def test_a_step_on_a_parked_case_is_refused_as_paused() -> None:
    case = dispatched()
    due = claim_due(case)
    drive(case, after(due, 1))
    case.do("CaseClaimed", at=after(due, 2))
    case.do("CaseParked", at=after(due, 3), review_date=date(2025, 4, 30))
    handle = case.s.deadlines[-1]
    urge = _urge(case, 1, after(handle.due_time, 4))
    _refused(case, urge, Code.DEADLINE_PAUSED)


def test_only_the_command_centre_parks_and_with_a_review_date_to_come() -> None:
    case = dispatched()
    case.do("CaseClaimed")
    dept = ("dept.law-enforcement", "department")
    _refused(case, _park(case, actor=dept), Code.NOT_COMMAND_CENTRE)
    _refused(case, _park(case, review_date=date(2025, 3, 2)), Code.REVIEW_DATE_IN_PAST)
    case.do("CaseParked", review_date=date(2025, 3, 3))  # the same day is fine
    decision = case.decide("CaseUnparked", actor=dept)
    assert isinstance(decision, Rejected) and decision.code is Code.NOT_COMMAND_CENTRE
    decision = case.decide("CaseResumed")
    assert isinstance(decision, Rejected) and decision.code is Code.INVALID_TRANSITION


def _park(case: Case, **kw: Any) -> Event:
    return submission("CaseParked", case.t + timedelta(minutes=30), **kw)


# --- the policy ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"street_supervision_after_hours": 8, "district_supervision_after_hours": 8}, "after"),
        ({"street_supervision_after_hours": 8}, "supervision_hours"),
        ({"urge_every_hours": -1}, "greater than or equal"),
    ],
)
def test_a_policy_ladder_out_of_order_is_refused(changes: dict[str, int], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        _policy(3, date(2025, 3, 1), **changes)


def test_the_pure_ladder_checks_its_hours() -> None:
    with pytest.raises(ValueError, match="negative"):
        Ladder(urge_every_hours=-1)
    with pytest.raises(ValueError, match="supervision_hours"):
        Ladder(district_after_hours=4)
    assert Ladder(street_after_hours=2, supervision_hours=8).supervision_after("district") == 0


# --- the read models -------------------------------------------------------------------------
def _folded(case: Case) -> tuple[ProjectionState, Changes]:
    state = ProjectionState(ref=case.ref)
    records = [
        Decoded("case", "fq.case.events", 0, offset, e.event_type, to_avro(e))
        for offset, e in enumerate(case.log)
    ]
    return state, fold_batch(state, records)


def test_the_folds_show_each_step_and_count_it_for_the_case_s_units() -> None:
    case = dispatched()
    drive(case, datetime(2025, 4, 2, 9, 0, tzinfo=SHANGHAI))
    state, changes = _folded(case)
    assert not changes.dead_letters
    row = state.cases[case.s.case_id]
    assert (row.urges, row.supervision_level, row.notices, row.last_notice_period) == (
        case.s.deadlines[-1].urges,
        "district",
        1,
        "2025-03",
    )
    assert row.supervision_due is not None and row.supervised_at is not None
    (deadline,) = state.deadlines[case.s.case_id]
    assert deadline.urges == row.urges and deadline.last_urged_at == row.last_urged_at
    (listed,) = changes.notices
    kinds = [e.event_type for e in case.log]
    urged_by_close = kinds[: kinds.index("CaseNoticed")].count("CaseUrged")
    assert 0 < urged_by_close < row.urges  # urged after the close too, before 2 April
    assert (listed.period, listed.case_id, listed.supervision_level, listed.urges) == (
        "2025-03",
        row.case_id,
        "district",
        urged_by_close,
    )
    assert listed.department_code == row.department_code and listed.grid_id == row.grid_id
    totals: Counter[tuple[str, str, str]] = Counter()
    for (level, code, _, metric), n in changes.stats.items():
        totals[(level, code, metric)] += n
    dept = ("department", str(row.department_code))
    assert totals[(*dept, "urges")] == row.urges
    assert totals[(*dept, "supervised_street")] == totals[(*dept, "supervised_district")] == 1
    assert totals[("grid", row.grid_id, "noticed")] == 1
    summaries = [t.summary for t in changes.timeline if t.event_type in LADDER_EVENT_TYPES]
    assert summaries[0] == "claim overdue: urged (催办) #1"
    assert "claim overdue: in the notice (通报) of 2025-03" in summaries


def test_the_backlog_in_the_read_models() -> None:
    case = dispatched()
    case.do("CaseClaimed")
    case.do("CaseParked", review_date=date(2025, 4, 30))
    state, changes = _folded(case)
    row = state.cases[case.s.case_id]
    assert (row.status, row.review_date, row.parks) == ("parked", date(2025, 4, 30), 1)
    assert row.park_reason == "需纳入明年改造计划" and row.parked_since == case.t
    assert all(d.paused for d in state.deadlines[row.case_id] if d.done_at is None)
    grid = ("grid", row.grid_id)
    now = {
        tuple(r[:2]): dict(zip(NOW_COLUMNS, r[2:], strict=True)) for r in changes.now_rows.values()
    }
    assert now[grid]["status_parked"] == 1 and now[grid]["open"] == 1
    case.do("CaseUnparked", at=sh(2025, 3, 4, 9, 0))
    state, changes = _folded(case)
    row = state.cases[case.s.case_id]
    assert (row.status, row.review_date, row.park_reason, row.parked_since) == (
        "in_progress",
        None,
        None,
        None,
    )
    assert row.parked_hours == row.suspended_hours > 0
    totals = Counter({m: n for (lv, _, _, m), n in changes.stats.items() if lv == "district"})
    assert (totals["parked"], totals["unparked"]) == (1, 1)


def test_the_dashboard_names_every_step_and_status_in_chinese() -> None:
    assert {m.event_type for m in CASE_EVENTS} <= set(terms.EVENT)
    assert {str(s) for s in Status} == set(terms.STATUS)
    assert terms.ladder_step(0, None, 0) == "—"
    assert terms.ladder_step(3, None, 0) == "催办3次"
    assert terms.ladder_step(5, "district", 2) == "通报2次，区县督办，催办5次"
