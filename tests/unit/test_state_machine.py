"""The case state machine: every (state, event type) pair against DESIGN.md's table, the
reference checks, idempotency, deadlines and their signals, and replay determinism."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.calendar import working_hours_between
from domain.case_state import CaseState, CorruptStream, DeadlineStatus, Status, evolve
from domain.decisions import Accepted, Decision, Duplicate, Rejected
from domain.decisions import RejectionCode as Code
from domain.meaning_types import Party
from domain.meanings import CASE_MEANINGS
from domain.reference_view import ReferenceView
from domain.state_machine import decide, due_signals, signal_submission
from events.models import LADDER_EVENT_TYPES, MODELS, DeadlineScheduled, Event, model_for
from tests.unit.test_reference_view import (
    GRID,
    GRID_2,
    GRID_NEW,
    LAW,
    MARKET,
    REF,
    WORKER,
    WORKER_2,
    ev,
    limits,
    sh,
)

CASE = "case-2025-000123"
T0 = sh(2025, 3, 3, 8, 0)  # a Monday; steps come every 30 minutes
CAL = REF.calendar()
CENTRE = ("centre-1", "command_centre")
FIELDS: dict[str, dict[str, Any]] = {
    "CaseReported": {
        "grid_id": GRID,
        "category_code": "city_appearance",
        "priority": "normal",
        "title": "占道经营",
        "description": "小区门口流动摊贩占道经营",
        "channel": "grid_visit",
    },
    "CaseAccepted": {},
    "CaseRejected": {"reason": "out_of_scope", "comment": "不属于网格事项"},
    "CaseDispatched": {"department_code": LAW},
    "CaseClaimed": {"department_code": LAW},
    "CaseTransferred": {"from_department": LAW, "to_department": MARKET, "reason": "涉及食品"},
    "CaseReturned": {"department_code": LAW, "reason": "不属本部门职责"},
    "CaseExtended": {
        "stage": "handle",
        "extra_working_hours": 16,
        "approved_by": "official-1",
        "reason": "需协调多部门",
    },
    "CaseSuspended": {"reason": "等待鉴定结果"},
    "CaseResumed": {},
    "CaseParked": {"reason": "需纳入明年改造计划", "review_date": date(2025, 6, 30)},
    "CaseUnparked": {"comment": "改造资金已落实"},
    "HandoffRequested": {"department_code": LAW, "reason": "不属本部门职责"},
    "HandoffRuled": {"request_id": "sub-0", "upheld": False},
    "CaseEscalated": {"from_level": "street", "to_level": "district", "reason": "街道无法协调"},
    "CaseResolved": {"department_code": LAW, "resolution": "已劝离摊贩"},
    "CaseVerified": {"passed": True, "worker_id": WORKER},
    "CaseReopened": {"reason": "resident_complaint"},
    "CaseClosed": {},
    "CaseEvaluated": {"satisfaction": 5},
    "DeadlineScheduled": {
        "deadline_id": "d",
        "stage": "claim",
        "due_time": T0,
        "working_hours": 8,
        "policy_id": "sla.default",
        "policy_version": 1,
        "calendar_version": "2025.1",
        "started_at": T0,
    },
    "DeadlineWarned": {"deadline_id": "nope", "stage": "claim", "due_time": T0},
    "DeadlineBreached": {"deadline_id": "nope", "stage": "claim", "due_time": T0},
    "CaseUrged": {"deadline_id": "nope", "stage": "claim", "due_time": T0, "urge_number": 1},
    "CaseSupervised": {
        "deadline_id": "nope",
        "stage": "claim",
        "due_time": T0,
        "level": "street",
        "supervision_due_time": T0,
    },
    "CaseNoticed": {"deadline_id": "nope", "stage": "claim", "due_time": T0, "period": "2025-03"},
}
_ids = itertools.count(1)
# who sends a step of the party its type names first, when a test does not say
_PARTY_ACTORS = {Party.department: (LAW, "department"), Party.grid_worker: (WORKER, "grid_worker")}


def submission(
    event_type: str,
    at: datetime,
    *,
    actor: tuple[str, str] | None = None,
    event_id: str | None = None,
    case_id: str = CASE,
    source_system: str = "test",
    **changes: Any,
) -> Event:
    """A valid submission of ``event_type`` for the standard case, with ``changes``."""
    if actor is None:
        actor = (WORKER, "grid_worker") if event_type == "CaseReported" else CENTRE
        meaning = CASE_MEANINGS[event_type]
        actor = _PARTY_ACTORS.get(meaning.parties[0], actor)
        signal = event_type.startswith("Deadline") or event_type in LADDER_EVENT_TYPES
        actor = ("trigger", "system") if signal else actor
    envelope = {
        "event_id": event_id or f"sub-{next(_ids)}",
        "event_time": at,
        "recorded_time": at,
        "source_system": source_system,
        "actor": {"id": actor[0], "role": actor[1]},
    }
    return model_for(event_type).model_validate(
        {"envelope": envelope, "case_id": case_id, **FIELDS[event_type], **changes}
    )


class Case:
    """Drives one case through ``decide`` and ``evolve``, keeping the canonical log."""

    def __init__(self, ref: ReferenceView = REF, start: datetime = T0) -> None:
        self.ref, self.t = ref, start
        self.state: CaseState | None = None
        self.log: list[Event] = []

    def decide(self, event_type: str, at: datetime | None = None, **kw: Any) -> Decision:
        self.t = at or self.t + timedelta(minutes=30)
        return decide(self.state, submission(event_type, self.t, **kw), self.ref)

    def apply(self, decision: Decision) -> tuple[Event, ...]:
        assert isinstance(decision, Accepted), decision
        for event in decision.events:
            self.state = evolve(self.state, event)  # type: ignore[arg-type]
            self.log.append(event)
        return decision.events

    def do(self, event_type: str, at: datetime | None = None, **kw: Any) -> tuple[Event, ...]:
        return self.apply(self.decide(event_type, at, **kw))

    def walk(self, *event_types: str) -> Case:
        for event_type in ("CaseReported", *event_types) if self.state is None else event_types:
            self.do(event_type)
        return self

    @property
    def s(self) -> CaseState:
        assert self.state is not None
        return self.state


IN_PROGRESS = ("CaseAccepted", "CaseDispatched", "CaseClaimed")
PATHS: dict[str, tuple[str, ...]] = {
    "reported": (),
    "accepted": ("CaseAccepted",),
    "rejected": ("CaseRejected",),
    "dispatched": IN_PROGRESS[:2],
    "in_progress": IN_PROGRESS,
    "suspended": (*IN_PROGRESS, "CaseSuspended"),
    "parked": (*IN_PROGRESS, "CaseParked"),
    "resolved": (*IN_PROGRESS, "CaseResolved"),
    "verified": (*IN_PROGRESS, "CaseResolved", "CaseVerified"),
    "closed": (*IN_PROGRESS, "CaseResolved", "CaseVerified", "CaseClosed"),
}
LEGAL = {  # DESIGN.md's lifecycle table, written out independently of TRANSITIONS
    ("reported", "CaseAccepted"),
    ("reported", "CaseRejected"),
    ("accepted", "CaseDispatched"),
    ("dispatched", "CaseClaimed"),
    ("dispatched", "CaseTransferred"),
    ("in_progress", "CaseTransferred"),
    ("dispatched", "CaseReturned"),
    ("in_progress", "CaseReturned"),
    ("in_progress", "CaseExtended"),
    ("in_progress", "CaseSuspended"),
    ("suspended", "CaseResumed"),
    ("in_progress", "CaseParked"),
    ("parked", "CaseUnparked"),
    ("dispatched", "HandoffRequested"),
    ("in_progress", "HandoffRequested"),
    ("in_progress", "CaseResolved"),
    ("resolved", "CaseVerified"),
    ("resolved", "CaseReopened"),
    ("closed", "CaseReopened"),
    ("verified", "CaseClosed"),
    ("closed", "CaseEvaluated"),
    *((s, "CaseEscalated") for s in PATHS if s not in ("rejected", "closed")),
}
SPECIFIC = {
    "CaseReported": Code.CASE_EXISTS,
    "DeadlineScheduled": Code.DERIVED_EVENT_FROM_OUTSIDE,
    "DeadlineWarned": Code.UNKNOWN_DEADLINE,
    "DeadlineBreached": Code.UNKNOWN_DEADLINE,
    "CaseUrged": Code.UNKNOWN_DEADLINE,
    "CaseSupervised": Code.UNKNOWN_DEADLINE,
    "CaseNoticed": Code.UNKNOWN_DEADLINE,
}
SPECIFIC_IN = {  # a ruling where a request could be pending, with none pending
    ("dispatched", "HandoffRuled"): Code.NO_PENDING_HANDOFF,
    ("in_progress", "HandoffRuled"): Code.NO_PENDING_HANDOFF,
}
CASE_TYPES = sorted(t for t, m in MODELS.items() if m.stream == "case")


@pytest.mark.parametrize("event_type", CASE_TYPES)
@pytest.mark.parametrize("status", sorted(PATHS))
def test_every_state_and_event_type_against_the_table(status: str, event_type: str) -> None:
    case = Case().walk(*PATHS[status])
    assert case.s.status == status
    decision = case.decide(event_type)
    if (status, event_type) in LEGAL:
        case.apply(decision)
        assert case.s.sequence == len(case.log)
    else:
        assert isinstance(decision, Rejected), decision
        specific = SPECIFIC_IN.get((status, event_type), SPECIFIC.get(event_type))
        assert decision.code is (specific or Code.INVALID_TRANSITION)
        assert CASE in decision.message and status in decision.message


@pytest.mark.parametrize("event_type", CASE_TYPES)
def test_nothing_but_a_report_starts_a_case(event_type: str) -> None:
    decision = Case().decide(event_type)
    if event_type == "CaseReported":
        assert isinstance(decision, Accepted)
    else:
        assert isinstance(decision, Rejected)
        assert decision.code in (Code.UNKNOWN_CASE, Code.DERIVED_EVENT_FROM_OUTSIDE)


def test_failed_verification_sends_the_case_back_to_rework() -> None:
    case = Case().walk(*IN_PROGRESS, "CaseResolved")
    case.do("CaseVerified", passed=False)
    assert case.s.status is Status.in_progress and case.s.reworks == 1
    stages = [(d.stage, d.status) for d in case.s.deadlines]
    assert stages[-2:] == [("verify", DeadlineStatus.met), ("handle", DeadlineStatus.open)]


def test_transfer_counts_a_hand_off_and_return_goes_back_to_the_centre() -> None:
    case = Case().walk(*IN_PROGRESS, "CaseTransferred")
    assert (case.s.status, case.s.department, case.s.hand_offs) == ("dispatched", MARKET, 1)
    case.do("CaseClaimed", department_code=MARKET)
    case.do("CaseReturned", department_code=MARKET)
    assert (case.s.status, case.s.department, case.s.returns) == ("accepted", None, 1)
    assert case.s.open_deadline() is None


def test_escalation_goes_up_and_keeps_the_state() -> None:
    case = Case().walk("CaseAccepted", "CaseEscalated")
    assert (case.s.status, case.s.level) == ("accepted", "district")
    again = case.decide("CaseEscalated")  # from street, but it is at district now
    assert isinstance(again, Rejected) and again.code is Code.LEVEL_MISMATCH
    case.do("CaseEscalated", from_level="district", to_level="city")
    assert case.s.level == "city"
    with pytest.raises(ValueError, match="higher"):
        submission("CaseEscalated", T0, from_level="city", to_level="district")


def test_reopen_after_close_and_evaluate_once_per_closing() -> None:
    case = Case().walk(*PATHS["closed"], "CaseEvaluated")
    assert case.s.evaluated
    twice = case.decide("CaseEvaluated")
    assert isinstance(twice, Rejected) and twice.code is Code.ALREADY_EVALUATED
    case.do("CaseReopened")
    assert case.s.status is Status.in_progress and case.s.open_deadline() is not None
    case.walk("CaseResolved", "CaseVerified", "CaseClosed", "CaseEvaluated")


# --- reference checks and other specific rejections -------------------------------------------
def _rejected(decision: Decision, code: Code) -> None:
    assert isinstance(decision, Rejected), decision
    assert decision.code is code, decision
    assert CASE in decision.message


@pytest.mark.parametrize(
    ("path", "event_type", "kw", "code"),
    [
        ((), "CaseReported", {"grid_id": GRID_NEW}, Code.GRID_NOT_EFFECTIVE),
        ((), "CaseReported", {"grid_id": GRID_2}, Code.WORKER_NOT_ASSIGNED),
        ((), "CaseReported", {"category_code": "weather"}, Code.UNKNOWN_CATEGORY),
        ((), "CaseReported", {"at": sh(2024, 12, 31, 9, 0)}, Code.GRID_NOT_EFFECTIVE),
        (("CaseReported",), "CaseAccepted", {"category_code": "weather"}, Code.UNKNOWN_CATEGORY),
        (
            ("CaseAccepted",),
            "CaseDispatched",
            {"department_code": "dept.x"},
            Code.UNKNOWN_DEPARTMENT,
        ),
        (IN_PROGRESS[:2], "CaseClaimed", {"department_code": MARKET}, Code.WRONG_DEPARTMENT),
        (IN_PROGRESS[:2], "CaseTransferred", {"to_department": "dept.x"}, Code.UNKNOWN_DEPARTMENT),
        (IN_PROGRESS[:2], "CaseTransferred", {"to_department": LAW}, Code.SAME_DEPARTMENT),
        (IN_PROGRESS[:2], "CaseTransferred", {"from_department": MARKET}, Code.WRONG_DEPARTMENT),
        (IN_PROGRESS, "CaseReturned", {"department_code": MARKET}, Code.WRONG_DEPARTMENT),
        (IN_PROGRESS, "CaseResolved", {"department_code": MARKET}, Code.WRONG_DEPARTMENT),
        (IN_PROGRESS, "CaseExtended", {"stage": "claim"}, Code.NO_OPEN_DEADLINE),
        (IN_PROGRESS, "CaseExtended", {"extra_working_hours": 1990}, Code.EXTENSION_TOO_LONG),
        (
            (*IN_PROGRESS, "CaseResolved"),
            "CaseVerified",
            {"worker_id": WORKER_2},
            Code.WORKER_NOT_ASSIGNED,
        ),
        (IN_PROGRESS, "CaseResolved", {"at": T0}, Code.EVENT_TIME_BEFORE_STATUS),
        (("CaseAccepted",), "CaseClosed", {"envelope_sequence": 9}, Code.SEQUENCE_SET_BY_SUBMITTER),
        (
            ("CaseAccepted",),
            "DeadlineWarned",
            {"actor": ("dept-1", "department")},
            Code.DERIVED_EVENT_FROM_OUTSIDE,
        ),
    ],
)
def test_specific_rejections(
    path: tuple[str, ...], event_type: str, kw: dict[str, Any], code: Code
) -> None:
    case = Case()
    if event_type != "CaseReported":
        case.walk(*(p for p in path if p != "CaseReported"))
    if "envelope_sequence" in kw:
        event = submission(event_type, T0 + timedelta(days=1))
        env = event.envelope.model_copy(update={"sequence": kw["envelope_sequence"]})
        decision = decide(case.state, event.model_copy(update={"envelope": env}), REF)
    else:
        decision = case.decide(event_type, **kw)
    _rejected(decision, code)


def _ref_with(*events: Event) -> ReferenceView:
    return REF.apply_all(events)


def test_sla_reference_rejections() -> None:
    no_policy = _ref_with(
        ev(
            "CategoryDefined",
            code="city_appearance",
            name="市容",
            default_department_code=LAW,
            sla_policy_id="sla.none",
            effective_from=date(2025, 2, 1),
        )
    )
    _rejected(
        Case(no_policy).walk("CaseAccepted").decide("CaseDispatched"), Code.UNKNOWN_SLA_POLICY
    )
    partial = _ref_with(
        ev(
            "SlaPolicyDefined",
            policy_id="sla.default",
            version=2,
            limits=limits()[3:],
            effective_from=date(2025, 2, 1),
        )
    )
    _rejected(Case(partial).walk("CaseAccepted").decide("CaseDispatched"), Code.NO_SLA_LIMIT)
    late = Case(start=sh(2026, 12, 31, 9, 0)).walk("CaseAccepted")
    _rejected(late.decide("CaseDispatched", at=sh(2026, 12, 31, 16, 0)), Code.CALENDAR_GAP)


def test_wrong_stream() -> None:
    decision = decide(
        None, ev("DepartmentDefined", code="d", name="d", effective_from=date(2025, 1, 1)), REF
    )
    assert isinstance(decision, Rejected) and decision.code is Code.WRONG_STREAM


# --- idempotency -------------------------------------------------------------------------------
def test_the_same_event_id_twice_is_a_duplicate_of_the_original_sequence() -> None:
    case = Case().walk("CaseAccepted")
    case.t += timedelta(hours=1)
    dispatch = submission("CaseDispatched", case.t, event_id="dispatch-1")
    first = decide(case.state, dispatch, REF)
    case.apply(first)
    assert decide(case.state, dispatch, REF) == Duplicate(3)
    case.walk("CaseClaimed")
    assert decide(case.state, dispatch, REF) == Duplicate(3)
    report = case.log[0]
    plain = report.model_copy(
        update={"envelope": report.envelope.model_copy(update={"sequence": None})}
    )
    assert decide(case.state, plain, REF) == Duplicate(1)


def test_decide_is_deterministic_and_derived_events_name_their_cause() -> None:
    case = Case().walk("CaseAccepted")
    dispatch = submission("CaseDispatched", sh(2025, 3, 3, 9, 30), event_id="dispatch-1")
    first, second = decide(case.state, dispatch, REF), decide(case.state, dispatch, REF)
    assert first == second and isinstance(first, Accepted)
    stamped, scheduled = first.events
    assert stamped.envelope.sequence == 3 and scheduled.envelope.sequence == 4
    assert isinstance(scheduled, DeadlineScheduled)
    env = scheduled.envelope
    assert env.causation_id == "dispatch-1" and env.actor.role == "system"
    assert env.event_id != "dispatch-1" and env.event_time == dispatch.envelope.event_time
    assert scheduled.deadline_id == f"{CASE}:claim:3"


# --- deadlines ---------------------------------------------------------------------------------
def _open(case: Case) -> Any:
    deadline = case.s.open_deadline()
    assert deadline is not None
    return deadline


def test_deadlines_are_scheduled_settled_extended_and_shifted_by_pauses() -> None:
    case = Case().walk("CaseAccepted")
    case.do("CaseDispatched", at=sh(2025, 3, 3, 9, 30))
    claim = _open(case)
    assert (claim.deadline_id, claim.stage, claim.due_time) == (
        f"{CASE}:claim:3",
        "claim",
        sh(2025, 3, 4, 10, 0),
    )
    assert (claim.policy_id, claim.policy_version, claim.calendar_version) == (
        "sla.default",
        1,
        "2025.1",
    )
    case.do("CaseClaimed", at=sh(2025, 3, 3, 10, 30))
    assert case.s.deadline(claim.deadline_id).status is DeadlineStatus.met  # type: ignore[union-attr]
    handle = _open(case)
    assert (handle.deadline_id, handle.due_time) == (f"{CASE}:handle:5", sh(2025, 3, 10, 14, 30))
    case.do("CaseExtended", at=sh(2025, 3, 3, 11, 0))
    extended = _open(case)
    assert extended.deadline_id == handle.deadline_id and extended.working_hours == 56
    assert extended.due_time == sh(2025, 3, 12, 15, 30)
    case.do("CaseSuspended", at=sh(2025, 3, 4, 16, 0))
    assert due_signals(case.s, sh(2025, 4, 1, 9, 0), REF) == []  # paused: nothing falls due
    events = case.do("CaseResumed", at=sh(2025, 3, 6, 10, 0))
    assert [e.event_type for e in events] == ["CaseResumed", "DeadlineScheduled"]
    resumed = _open(case)
    assert resumed.deadline_id == handle.deadline_id
    assert working_hours_between(CAL, extended.due_time, resumed.due_time) == 10.5
    assert resumed.due_time == sh(2025, 3, 14, 9, 30)
    case.do("CaseResolved", at=sh(2025, 3, 7, 9, 0))
    verify = _open(case)
    assert (verify.stage, verify.deadline_id) == ("verify", f"{CASE}:verify:{case.s.sequence - 1}")
    case.do("CaseVerified", at=sh(2025, 3, 7, 10, 0))
    assert case.s.open_deadline() is None
    assert [d.status for d in case.s.deadlines] == [DeadlineStatus.met] * 3


def test_a_pause_outside_working_time_moves_nothing() -> None:
    case = Case().walk(*IN_PROGRESS)
    due = _open(case).due_time
    case.do("CaseSuspended", at=sh(2025, 3, 7, 18, 0))  # Friday evening
    events = case.do("CaseResumed", at=sh(2025, 3, 10, 8, 0))  # Monday before work
    assert [e.event_type for e in events] == ["CaseResumed"]
    assert _open(case).due_time == due


def test_transfer_and_return_cancel_the_open_deadline() -> None:
    case = Case().walk(*IN_PROGRESS)
    handle = _open(case)
    case.do("CaseTransferred")
    assert case.s.deadline(handle.deadline_id).status is DeadlineStatus.cancelled  # type: ignore[union-attr]
    assert _open(case).stage == "claim"
    case.do("CaseReturned", department_code=MARKET)
    assert case.s.open_deadline() is None


# --- signals -----------------------------------------------------------------------------------
def _signalled(case: Case) -> Case:
    case.walk("CaseAccepted")
    case.do("CaseDispatched", at=sh(2025, 3, 3, 9, 30))  # claim due Tue 10:00, warn Mon 17:00
    return case


CLAIM_DUE = sh(2025, 3, 4, 10, 0)


def _manual(
    kind: str,
    now: datetime,
    deadline_id: str = f"{CASE}:claim:3",
    stage: str = "claim",
    due_time: datetime = CLAIM_DUE,
) -> Event:
    """A signal built by hand (another trigger run: a fresh event id)."""
    return submission(kind, now, deadline_id=deadline_id, stage=stage, due_time=due_time)


def _rerun(event: Event, event_id: str) -> Event:
    return event.model_copy(
        update={"envelope": event.envelope.model_copy(update={"event_id": event_id})}
    )


def _signal(case: Case, kind: str, now: datetime) -> Event:
    (signal,) = [s for s in due_signals(case.s, now, REF) if s.kind == kind]
    return signal_submission(CASE, signal, now)


def test_warning_then_breach_each_once() -> None:
    case = _signalled(Case())
    assert due_signals(case.s, sh(2025, 3, 3, 16, 59), REF) == []
    warned = _signal(case, "DeadlineWarned", sh(2025, 3, 3, 17, 0))
    case.apply(decide(case.state, warned, REF))
    assert _open(case).warned
    assert decide(case.state, warned, REF) == Duplicate(case.s.sequence)
    again = _manual("DeadlineWarned", sh(2025, 3, 3, 17, 5))
    _rejected(decide(case.state, again, REF), Code.DUPLICATE_DEADLINE_SIGNAL)
    assert due_signals(case.s, sh(2025, 3, 4, 9, 59), REF) == []
    early = _manual("DeadlineBreached", sh(2025, 3, 4, 9, 59))
    _rejected(decide(case.state, early, REF), Code.DEADLINE_NOT_DUE)
    breached = _signal(case, "DeadlineBreached", sh(2025, 3, 4, 10, 0))
    case.apply(decide(case.state, breached, REF))
    assert _open(case).breached and due_signals(case.s, sh(2025, 3, 5, 9, 0), REF) == []
    twice = _rerun(breached, "another-trigger-run")
    _rejected(decide(case.state, twice, REF), Code.DUPLICATE_DEADLINE_SIGNAL)
    case.do("CaseClaimed", at=sh(2025, 3, 4, 11, 0))  # late, but claimed: the stage is over
    stale = _rerun(breached, "late-trigger")
    _rejected(decide(case.state, stale, REF), Code.STALE_DEADLINE)


def test_a_late_trigger_sends_only_the_breach() -> None:
    case = _signalled(Case())
    signals = due_signals(case.s, sh(2025, 3, 5, 9, 0), REF)
    assert [s.kind for s in signals] == ["DeadlineBreached"]
    case.apply(decide(case.state, signal_submission(CASE, signals[0], sh(2025, 3, 5, 9, 0)), REF))
    late_warning = _manual("DeadlineWarned", sh(2025, 3, 5, 9, 1))
    _rejected(decide(case.state, late_warning, REF), Code.DUPLICATE_DEADLINE_SIGNAL)


def test_signals_for_unknown_paused_moved_or_warningless_deadlines() -> None:
    case = _signalled(Case())
    _rejected(
        decide(case.state, submission("DeadlineBreached", sh(2025, 3, 9, 9, 0)), REF),
        Code.UNKNOWN_DEADLINE,
    )
    case.do("CaseClaimed", at=sh(2025, 3, 3, 10, 0))
    handle = _open(case)
    case.do("CaseSuspended", at=sh(2025, 3, 3, 11, 0))
    paused = _manual(
        "DeadlineBreached", sh(2025, 4, 1, 9, 0), handle.deadline_id, "handle", handle.due_time
    )
    _rejected(decide(case.state, paused, REF), Code.DEADLINE_PAUSED)
    case.do("CaseResumed", at=sh(2025, 3, 4, 11, 0))
    _rejected(decide(case.state, paused, REF), Code.STALE_DEADLINE)  # the due time moved
    case.do("CaseResolved", at=sh(2025, 3, 4, 12, 0))
    verify = _open(case)  # the policy asks for no warning on verify
    warn = _manual(
        "DeadlineWarned", sh(2025, 4, 1, 9, 0), verify.deadline_id, "verify", verify.due_time
    )
    _rejected(decide(case.state, warn, REF), Code.NO_WARNING_FOR_DEADLINE)
    assert [s.kind for s in due_signals(case.s, sh(2025, 4, 1, 9, 0), REF)] == ["DeadlineBreached"]


# --- evolve refuses streams the table cannot explain -------------------------------------------
def test_evolve_refuses_a_corrupt_stream() -> None:
    case = Case().walk("CaseAccepted")
    _, accepted = case.log
    with pytest.raises(CorruptStream, match="cannot start"):
        evolve(None, accepted)  # type: ignore[arg-type]
    with pytest.raises(CorruptStream, match="cannot take"):
        evolve(case.state, accepted)  # type: ignore[arg-type]  # sequence 2 again, and illegal
    with pytest.raises(CorruptStream, match="no sequence"):
        evolve(None, submission("CaseReported", T0))  # type: ignore[arg-type]


# --- replay determinism ------------------------------------------------------------------------
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "CaseAccepted": [{}, {"priority": "urgent"}, {"category_code": "food_drug"}],
    "CaseDispatched": [{}, {"department_code": MARKET}, {"department_code": "dept.x"}],
    "CaseClaimed": [{}, {"department_code": MARKET}],
    "CaseTransferred": [{}, {"from_department": MARKET, "to_department": LAW}],
    "CaseReturned": [{}, {"department_code": MARKET}],
    "CaseResolved": [{}, {"department_code": MARKET}],
    "CaseVerified": [{}, {"passed": False}, {"worker_id": WORKER_2}],
    "CaseEscalated": [{}, {"from_level": "district", "to_level": "city"}],
    "CaseReopened": [{}, {"reason": "failed_verification"}],
}
STEP_TYPES = [t for t in CASE_TYPES if t != "DeadlineScheduled"] + ["signal", "again"]
STEP_TYPES += ["legal"] * 3 * len(STEP_TYPES) + ["signal"] * 10  # mostly follow the table
FORWARD = {
    "reported": "CaseAccepted",
    "accepted": "CaseDispatched",
    "dispatched": "CaseClaimed",
    "in_progress": "CaseResolved",
    "suspended": "CaseResumed",
    "parked": "CaseUnparked",
    "resolved": "CaseVerified",
    "verified": "CaseClosed",
    "closed": "CaseReopened",
    "rejected": "CaseClosed",
}


def _fitting(state: CaseState | None, kind: str) -> dict[str, Any]:
    """Fields that fit the case as it is: its department, its level."""
    if state is None:
        return {}
    dept = state.department or LAW
    levels = ["street", "district", "city"]
    fits: dict[str, dict[str, Any]] = {
        "CaseClaimed": {"department_code": dept},
        "CaseReturned": {"department_code": dept},
        "CaseResolved": {"department_code": dept},
        "CaseTransferred": {
            "from_department": dept,
            "to_department": MARKET if dept == LAW else LAW,
        },
        "CaseEscalated": {
            "from_level": levels[min(levels.index(state.level), 1)],
            "to_level": levels[min(levels.index(state.level) + 1, 2)],
        },
    }
    return fits.get(kind, {})


def _legal_now(state: CaseState | None, pick: int) -> str:
    if state is None:
        return "CaseReported"
    legal = sorted(t for s, t in LEGAL if s == state.status) or ["CaseClosed"]
    return FORWARD[state.status] if pick < 4 else legal[pick % len(legal)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(STEP_TYPES),
            st.integers(0, 9),
            st.integers(0, 5),
            st.integers(1, 60 * 30),
        ),
        max_size=60,
    )
)
def test_folding_the_canonical_log_gives_back_the_same_state(
    steps: list[tuple[str, int, int, int]],
) -> None:
    case, submitted = Case(), []
    for kind, pick, variant, minutes in steps:
        case.t += timedelta(minutes=minutes)
        fields: dict[str, Any] = {}
        if kind == "legal":
            kind = _legal_now(case.state, pick)
            fields = _fitting(case.state, kind) if variant < 4 else {}
        if kind == "again" and submitted:
            event = submitted[variant % len(submitted)]
        elif kind == "signal":
            signals = due_signals(case.state, case.t, REF) if case.state else []
            if not signals:
                continue
            event = signal_submission(CASE, signals[variant % len(signals)], case.t)
        elif kind in ("again", "signal"):
            continue
        else:
            options = VARIANTS.get(kind, [{}])
            event = submission(kind, case.t, **(fields or options[variant % len(options)]))
        submitted.append(event)
        decision = decide(case.state, event, REF)
        if isinstance(decision, Accepted):
            case.apply(decision)
        elif isinstance(decision, Duplicate):
            assert case.log[decision.sequence - 1].envelope.event_id == event.envelope.event_id
    assert [e.envelope.sequence for e in case.log] == list(range(1, len(case.log) + 1))
    again = Case()
    for event in submitted:
        decision = decide(again.state, event, REF)
        if isinstance(decision, Accepted):
            again.apply(decision)
    assert again.log == case.log  # deciding the same submissions again writes the same log
    replayed = None
    for event in case.log:
        replayed = evolve(replayed, event)  # type: ignore[arg-type]
    assert replayed == case.state
    if case.state is not None:
        assert sum(d.status is DeadlineStatus.open for d in case.state.deadlines) <= 1
