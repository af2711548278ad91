"""Arbitration of hand-offs (推诿) in the pure workflow and the folds: who may ask and rule,
one request at a time, the case waiting for the ruling with its clock running, every refusal
code, an upheld ruling's re-dispatch, the repeated hand-off flag and the counters."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from domain.case_state import DeadlineStatus, Status
from domain.decisions import Accepted, Rejected
from domain.decisions import RejectionCode as Code
from domain.handoff import HANDOFF_FLAG_AT, STEPS_WHILE_PENDING, repeatedly_handed_off
from domain.state_machine import decide, due_signals, signal_submission
from events.models import DeadlineScheduled, HandoffRequested
from tests.unit.test_ladder import _folded
from tests.unit.test_reference_view import LAW, MARKET
from tests.unit.test_state_machine import CENTRE, IN_PROGRESS, Case

DEPT_LAW = (LAW, "department")
DEPT_MARKET = (MARKET, "department")


def _refused(decision: object, code: Code) -> Rejected:
    assert isinstance(decision, Rejected), decision
    assert decision.code is code, decision
    return decision


def asked(*path: str, **request: object) -> Case:
    """A case walked along ``path`` (in progress by default) whose department asked."""
    case = Case().walk(*(path or IN_PROGRESS))
    case.do("HandoffRequested", **request)
    return case


def test_the_flag_policy_is_two_requests() -> None:
    assert HANDOFF_FLAG_AT == 2
    assert not repeatedly_handed_off(1)
    assert repeatedly_handed_off(2) and repeatedly_handed_off(3)


@pytest.mark.parametrize("path", [("CaseAccepted", "CaseDispatched"), IN_PROGRESS])
def test_the_dispatched_department_asks_and_the_case_waits_where_it_is(
    path: tuple[str, ...],
) -> None:
    case = Case().walk(*path)
    before = case.s
    (request,) = case.do("HandoffRequested", suggested_department=MARKET)
    assert isinstance(request, HandoffRequested)
    assert case.s.status is before.status and case.s.department == LAW
    assert case.s.handoff_pending == request.envelope.event_id
    assert case.s.deadlines == before.deadlines  # nothing scheduled, nothing paused


def test_only_the_dispatched_department_may_ask() -> None:
    case = Case().walk(*IN_PROGRESS)
    by_centre = _refused(case.decide("HandoffRequested", actor=CENTRE), Code.WRONG_DEPARTMENT)
    assert "is not a department" in by_centre.message
    wrong = case.decide("HandoffRequested", actor=DEPT_MARKET, department_code=MARKET)
    assert (
        "only the department that holds the case" in _refused(wrong, Code.WRONG_DEPARTMENT).message
    )
    _refused(case.decide("HandoffRequested", suggested_department=LAW), Code.SAME_DEPARTMENT)
    unknown = case.decide("HandoffRequested", suggested_department="dept.nowhere")
    assert "dept.nowhere" in _refused(unknown, Code.UNKNOWN_DEPARTMENT).message


@pytest.mark.parametrize("path", [("CaseAccepted",), (*IN_PROGRESS, "CaseResolved")])
def test_a_case_not_with_a_department_cannot_be_handed_off(path: tuple[str, ...]) -> None:
    case = Case().walk(*path)
    _refused(case.decide("HandoffRequested"), Code.INVALID_TRANSITION)


def test_one_request_at_a_time_and_the_case_waits_for_the_ruling() -> None:
    case = asked()
    pending = case.s.handoff_pending
    again = _refused(case.decide("HandoffRequested"), Code.HANDOFF_ALREADY_PENDING)
    assert str(pending) in again.message
    for step, kw in [
        ("CaseResolved", {"actor": DEPT_LAW}),
        ("CaseSuspended", {"actor": DEPT_LAW}),
        ("CaseReturned", {"actor": DEPT_LAW}),
        ("CaseTransferred", {}),  # the centre rules instead of moving the case itself
        ("CaseParked", {}),
    ]:
        _refused(case.decide(step, **kw), Code.HANDOFF_PENDING)
    assert {"HandoffRuled", "CaseEscalated", "CaseExtended"} == STEPS_WHILE_PENDING
    case.do("CaseEscalated")
    case.do("CaseExtended")
    assert case.s.handoff_pending == pending


def test_the_clock_runs_while_the_request_waits() -> None:
    case = asked("CaseAccepted", "CaseDispatched")
    claim = case.s.open_deadline()
    assert claim is not None and claim.stage == "claim"
    late = claim.due_time + timedelta(days=3)
    (due,) = [s for s in due_signals(case.s, late, case.ref) if s.kind == "DeadlineBreached"]
    breach = decide(case.s, signal_submission(case.s.case_id, due, late), case.ref)
    case.apply(breach)
    assert case.s.deadlines[-1].breached and case.s.handoff_pending is not None


def test_only_the_command_centre_rules_and_only_on_the_pending_request() -> None:
    case = Case().walk(*IN_PROGRESS)
    _refused(case.decide("HandoffRuled", request_id="sub-1"), Code.NO_PENDING_HANDOFF)
    case.do("HandoffRequested")
    pending = str(case.s.handoff_pending)
    ruling = case.decide("HandoffRuled", actor=DEPT_LAW, request_id=pending)
    assert "is not a command centre" in _refused(ruling, Code.NOT_COMMAND_CENTRE).message
    other = case.decide("HandoffRuled", request_id="sub-elsewhere")
    assert pending in _refused(other, Code.HANDOFF_REQUEST_MISMATCH).message


@pytest.mark.parametrize(
    ("ruling", "code"),
    [
        ({"upheld": True, "department_code": None}, Code.RULING_WITHOUT_DEPARTMENT),
        ({"upheld": True, "department_code": LAW}, Code.SAME_DEPARTMENT),
        ({"upheld": True, "department_code": "dept.nowhere"}, Code.UNKNOWN_DEPARTMENT),
        ({"upheld": False, "department_code": MARKET}, Code.RULING_DEPARTMENT_MISMATCH),
    ],
)
def test_a_ruling_names_the_owner_consistently(ruling: dict[str, object], code: Code) -> None:
    case = asked()
    _refused(case.decide("HandoffRuled", request_id=case.s.handoff_pending, **ruling), code)
    assert case.s.handoff_pending is not None  # still waiting


def test_an_upheld_ruling_re_dispatches_the_case_with_a_new_claim_deadline() -> None:
    case = asked()
    handle = case.s.open_deadline()
    assert handle is not None and handle.stage == "handle"
    events = case.do(
        "HandoffRuled",
        request_id=case.s.handoff_pending,
        upheld=True,
        department_code=MARKET,
    )
    ruled, scheduled = events
    assert isinstance(scheduled, DeadlineScheduled) and scheduled.stage == "claim"
    assert scheduled.started_at == ruled.envelope.event_time
    assert (case.s.status, case.s.department, case.s.handoff_pending) == (
        Status.dispatched,
        MARKET,
        None,
    )
    assert case.s.deadline(handle.deadline_id).status is DeadlineStatus.cancelled  # type: ignore[union-attr]
    assert case.s.status_since == ruled.envelope.event_time
    _refused(case.decide("CaseClaimed", department_code=LAW), Code.WRONG_DEPARTMENT)
    case.do("CaseClaimed", department_code=MARKET)
    assert case.s.status is Status.in_progress


def test_a_refused_ruling_leaves_the_case_and_its_running_deadline() -> None:
    case = asked("CaseAccepted", "CaseDispatched")
    claim = case.s.open_deadline()
    (ruled,) = case.do("HandoffRuled", request_id=case.s.handoff_pending, upheld=False)
    assert ruled.event_type == "HandoffRuled"  # alone: no deadline scheduled
    assert (case.s.status, case.s.department, case.s.handoff_pending) == (
        Status.dispatched,
        LAW,
        None,
    )
    assert case.s.open_deadline() == claim  # the same due time: it never stopped
    case.do("CaseClaimed")
    case.do("HandoffRequested")  # and it may ask again
    assert case.s.handoff_pending is not None


def test_a_department_no_longer_transfers_a_case_itself() -> None:
    case = Case().walk(*IN_PROGRESS)
    refused = _refused(case.decide("CaseTransferred", actor=DEPT_LAW), Code.NOT_COMMAND_CENTRE)
    assert "only its command centre" in refused.message
    assert isinstance(case.decide("CaseTransferred"), Accepted)  # the centre's re-dispatch


def _twice_handed_off() -> Case:
    """LAW asks, upheld to MARKET after the claim was due; MARKET asks, refused."""
    case = asked("CaseAccepted", "CaseDispatched", suggested_department=MARKET)
    claim = case.s.open_deadline()
    assert claim is not None
    late = claim.due_time + timedelta(hours=1)
    case.do(
        "HandoffRuled",
        at=late,
        request_id=case.s.handoff_pending,
        upheld=True,
        department_code=MARKET,
        comment="属市场监管职责",
    )
    case.do("HandoffRequested", actor=DEPT_MARKET, department_code=MARKET)
    case.do("HandoffRuled", request_id=case.s.handoff_pending, upheld=False)
    return case


def test_the_case_row_counts_requests_rulings_and_flags_the_second_request() -> None:
    case = _twice_handed_off()
    state, changes = _folded(case)
    assert not changes.dead_letters
    row = state.cases[case.s.case_id]
    second = [e for e in case.log if isinstance(e, HandoffRequested)][-1]
    assert (row.handoff_requests, row.handoffs_upheld, row.handoffs_refused) == (2, 1, 1)
    assert row.handoff_flagged_at == second.envelope.event_time
    assert (row.department_code, row.status, row.handoff_pending_since) == (
        MARKET,
        "dispatched",
        None,
    )
    claims = [d for d in state.deadlines[row.case_id] if d.stage == "claim"]
    assert [(d.department_code, d.status) for d in claims] == [
        (LAW, "cancelled"),
        (MARKET, "open"),
    ]
    summaries = [t.summary for t in changes.timeline if t.event_type.startswith("Handoff")]
    assert summaries == [
        f"hand-off (推诿) asked by {LAW}, says {MARKET} owns it: 不属本部门职责",
        f"hand-off upheld: re-dispatched to {MARKET} (属市场监管职责)",
        f"hand-off (推诿) asked by {MARKET}: 不属本部门职责",
        "hand-off refused: the case stays",
    ]


def test_a_pending_request_shows_on_the_row_until_the_ruling() -> None:
    case = asked()
    state, _ = _folded(case)
    row = state.cases[case.s.case_id]
    assert row.handoff_pending_since == case.t and row.handoff_flagged_at is None


def test_the_counters_credit_the_department_that_asked() -> None:
    case = _twice_handed_off()
    _, changes = _folded(case)
    totals: Counter[tuple[str, str, str]] = Counter()
    for (level, code, _, metric), n in changes.stats.items():
        totals[(level, code, metric)] += n
    law, market = ("department", LAW), ("department", MARKET)
    assert (totals[(*law, "handoff_requests")], totals[(*law, "handoffs_upheld")]) == (1, 1)
    assert (totals[(*market, "handoff_requests")], totals[(*market, "handoffs_refused")]) == (1, 1)
    assert totals[(*market, "handoffs_flagged")] == 1 and totals[(*law, "handoffs_flagged")] == 0
    assert totals[(*market, "dispatched")] == 1  # re-dispatched to it, as a transfer counts
    grid = ("grid", case.s.grid_id)
    assert [totals[(*grid, m)] for m in ("handoff_requests", "handoffs_flagged")] == [2, 1]
    # the claim deadline the upheld ruling cancelled had passed its due time: a breach of LAW's
    assert totals[(*law, "breaches")] == 1 and totals[(*market, "breaches")] == 0
