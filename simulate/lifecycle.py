"""One case from its report to its evaluation, with the seeded detours of real cases.

Most cases run the plain loop (report → accept → dispatch → claim → resolve → verify → close
→ evaluate) within their deadlines. A seeded share are rejected at triage (out of scope, too
vague, or a duplicate of an earlier case on the same grid), reclassified, returned by the
department and re-dispatched, handed off (the department asks the command centre, which
rules; some cases asked about twice), transferred by the centre, escalated, extended, suspended and resumed, fail
verification and are reworked, or are reopened after a resident's complaint. The command
centre and the departments act in office hours; departments post now and then hours late
(``recorded_time`` after ``event_time``), and the next step of a case always follows what the
platform has recorded, so every case's events are in order by both times.

With ``invalid_share`` above 0, that share of cases also carries one submission the workflow
must refuse, named in ``Lifecycle.invalid`` with the rejection code it is meant to get.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from events.models import (
    ActorRole,
    CaseAccepted,
    CaseClaimed,
    CaseClosed,
    CaseDispatched,
    CaseEscalated,
    CaseEvaluated,
    CaseExtended,
    CaseParked,
    CaseRejected,
    CaseReopened,
    CaseReported,
    CaseResolved,
    CaseResumed,
    CaseReturned,
    CaseSuspended,
    CaseTransferred,
    CaseUnparked,
    CaseVerified,
    Channel,
    EscalationLevel,
    Event,
    GeoPoint,
    HandoffRequested,
    HandoffRuled,
    Priority,
    RejectionReason,
    ReopenReason,
    Stage,
)
from simulate import vocabulary as words
from simulate.catalogue import CATEGORIES, DEPARTMENTS, CategorySpec
from simulate.clock import SHANGHAI, OfficeHours
from simulate.ids import envelope

__all__ = ["CENTRE", "Lifecycle", "Report", "case_lifecycle"]

CENTRE = (ActorRole.command_centre, "command-centre", "centre.street")
PARK_SHARE = 0.0004
"""Cases put on the backlog (挂账): about 4 a month in a district of 10,000 cases a month."""
HANDOFF_SHARE = 0.04
"""Dispatches whose department asks the command centre for a hand-off (推诿申请)."""
HANDOFF_UPHELD = 0.6
"""Requests the centre upholds, re-dispatching the case; it refuses the rest."""
HANDOFF_AGAIN = 0.25
"""Cases re-dispatched on an upheld request whose new department asks again (so flagged as
handed off repeatedly, 多次推诿, at two requests)."""
TRANSFER_SHARE = 0.02
"""Cases the command centre re-dispatches on its own (转派)."""
SLOW_DEPARTMENTS = {
    "housing": (0.35, 160),
    "natural-resources": (0.4, 200),
    "petitions": (0.3, 120),
}
"""Departments that run late: (share of resolutions well past due, latest hours); elsewhere a
tenth run up to 60 hours. Their cases get urged and supervised (催办, 督办) once live."""
Actor = tuple[ActorRole, str, str]  # role, id, source system


@dataclass(frozen=True)
class Report:
    """What starts a case: who reported which problem where, when and how."""

    case_id: str
    grid: str
    verifier: str  # the grid's worker who checks the result on site
    category: CategorySpec
    priority: Priority
    channel: Channel
    at: datetime
    actor: Actor
    title: str
    description: str
    location: GeoPoint
    visit_id: str | None = None
    reporter_ref: str | None = None
    duplicate_of: str | None = None  # an earlier case on the same grid it may duplicate


@dataclass
class Lifecycle:
    """A case's submissions in order, and those meant to be refused (event id → code)."""

    events: list[Event] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)


class _Case:
    """The running case: its clock, what the platform has recorded so far, its department."""

    def __init__(self, report: Report, rng: random.Random, office: OfficeHours) -> None:
        self.report, self.rng, self.office = report, rng, office
        self.t = report.at
        self.recorded = report.at
        self.department = report.category.department
        self.out = Lifecycle()

    def post(self, model: Any, actor: Actor, late_h: float = 0.0, **fields: Any) -> Event:
        """Submit a step at the case's clock; the next step follows its recording."""
        role, actor_id, source = actor
        recorded = self.t + timedelta(hours=late_h)
        env = envelope(
            self.rng,
            self.t,
            source,
            actor_id,
            role,
            recorded_time=recorded,
            correlation_id=self.report.case_id,
        )
        event: Event = model(envelope=env, case_id=self.report.case_id, **fields)
        self.out.events.append(event)
        self.recorded = max(self.recorded, recorded)
        self.t = max(self.t, self.recorded)
        return event

    def refused(self, model: type[Event], actor: Actor, code: str, **fields: Any) -> None:
        """A submission the workflow must refuse with ``code``; the case does not move."""
        t, recorded = self.t, self.recorded
        event = self.post(model, actor, **fields)
        self.out.invalid[event.envelope.event_id] = code
        self.t, self.recorded = t, recorded

    def later(self, lo_h: float, hi_h: float, office: bool = True) -> None:
        self.t += timedelta(hours=self.rng.uniform(lo_h, hi_h))
        if office:
            self.t = self.office.next_open(self.t, self.rng)

    def dept(self, code: str | None = None) -> Actor:
        code = code or self.department
        return ActorRole.department, f"{code}-desk", f"dept.{code}"

    def dept_late(self) -> float:
        """Departments post from their own systems, now and then hours late."""
        return self.rng.uniform(2, 30) if self.rng.random() < 0.11 else 0.0

    def worker(self) -> Actor:
        return ActorRole.grid_worker, self.report.verifier, "gridapp"

    def other_department(self) -> str:
        return self.rng.choice([code for code, _ in DEPARTMENTS if code != self.department])


def case_lifecycle(
    report: Report, rng: random.Random, office: OfficeHours, invalid_share: float = 0.0
) -> Lifecycle:
    """Every submission of one case, in order (see the module docstring)."""
    case = _Case(report, rng, office)
    invalid = rng.random() < invalid_share
    case.post(
        CaseReported,
        report.actor,
        grid_id=report.grid,
        category_code=report.category.code,
        priority=report.priority,
        title=report.title,
        description=report.description,
        location=report.location,
        channel=report.channel,
        visit_id=report.visit_id,
        reporter_ref=report.reporter_ref,
        attachments_count=rng.randint(0, 4),
    )
    if invalid and rng.random() < 0.4:
        case.refused(CaseClosed, CENTRE, "INVALID_TRANSITION")  # closed before any triage
        invalid = False
    urgent = report.priority is not Priority.normal
    case.later(0.1, 2, office=not urgent)
    if _triage(case):
        return case.out
    case.later(0.1, 1, office=not urgent)
    case.post(CaseDispatched, CENTRE, department_code=case.department)
    if invalid and rng.random() < 0.6:
        other = case.other_department()
        case.refused(CaseClaimed, case.dept(other), "WRONG_DEPARTMENT", department_code=other)
        invalid = False
    _hand_offs(case)
    case.later(0.2, 6)
    case.post(CaseClaimed, case.dept(), case.dept_late(), department_code=case.department)
    _detours(case)
    _work_until_verified(case, wrong_verifier=invalid)
    case.later(0.1, 2)
    case.post(CaseClosed, CENTRE)
    if _evaluate(case) and rng.random() < 0.3:  # an unhappy resident has it reopened
        case.later(2, 48)
        case.post(
            CaseReopened,
            CENTRE,
            reason=ReopenReason.resident_complaint,
            comment=rng.choice(words.COMPLAINTS),
        )
        _work_until_verified(case)
        case.later(0.1, 2)
        case.post(CaseClosed, CENTRE)
        _evaluate(case)
    return case.out


def _triage(case: _Case) -> bool:
    """Accept (reclassifying now and then) or reject; True when rejected."""
    rng, report = case.rng, case.report
    from_public = report.channel in (Channel.resident, Channel.hotline)
    if rng.random() < (0.09 if from_public else 0.03):
        if report.duplicate_of is not None and rng.random() < 0.5:
            case.post(
                CaseRejected,
                CENTRE,
                reason=RejectionReason.duplicate,
                duplicate_of=report.duplicate_of,
                comment="重复上报",
            )
        else:
            reason = rng.choice(
                [RejectionReason.out_of_scope, RejectionReason.insufficient_information]
            )
            comment = (
                "不属于网格事项" if reason is RejectionReason.out_of_scope else "信息不全，无法核实"
            )
            case.post(CaseRejected, CENTRE, reason=reason, comment=comment)
        return True
    if from_public and rng.random() < 0.05:  # residents pick the wrong category now and then
        category = rng.choice([c for c in CATEGORIES if c.code != report.category.code])
        case.department = category.department
        case.post(CaseAccepted, CENTRE, category_code=category.code, comment="重新分类")
    else:
        case.post(CaseAccepted, CENTRE)
    return False


def _hand_offs(case: _Case) -> None:
    """Returned to the centre and re-dispatched, or transferred to another department."""
    rng = case.rng
    if rng.random() < 0.05:
        case.later(1, 4)
        case.post(
            CaseReturned,
            case.dept(),
            case.dept_late(),
            department_code=case.department,
            reason=rng.choice(words.RETURN_REASONS),
        )
        case.department = case.other_department()
        case.later(0.2, 1)
        case.post(CaseDispatched, CENTRE, department_code=case.department)
    _ask_for_hand_offs(case)
    if rng.random() < TRANSFER_SHARE:
        case.later(0.5, 3)
        new = case.other_department()
        case.post(
            CaseTransferred,
            CENTRE,
            from_department=case.department,
            to_department=new,
            reason=rng.choice(words.TRANSFER_REASONS),
        )
        case.department = new


def _ask_for_hand_offs(case: _Case) -> None:
    """推诿: the department asks the centre, which rules within hours; an upheld request
    re-dispatches the case, whose new department now and then asks again."""
    rng, share = case.rng, HANDOFF_SHARE
    while rng.random() < share:
        case.later(0.5, 4)
        owner = case.other_department()
        request = case.post(
            HandoffRequested,
            case.dept(),
            department_code=case.department,
            reason=rng.choice(words.HANDOFF_REASONS),
            suggested_department=owner if rng.random() < 0.7 else None,
        )
        case.later(0.5, 4)
        upheld = rng.random() < HANDOFF_UPHELD
        case.post(
            HandoffRuled,
            CENTRE,
            request_id=request.envelope.event_id,
            upheld=upheld,
            department_code=owner if upheld else None,
            comment=rng.choice(words.UPHELD_COMMENTS if upheld else words.REFUSED_COMMENTS),
        )
        if not upheld:
            return
        case.department, share = owner, HANDOFF_AGAIN


def _detours(case: _Case) -> None:
    """Escalation, an extension, a suspension: all while in progress."""
    rng = case.rng
    if rng.random() < 0.03:
        case.later(1, 8)
        case.post(
            CaseEscalated,
            CENTRE,
            from_level=EscalationLevel.street,
            to_level=EscalationLevel.district,
            reason=rng.choice(words.ESCALATE_REASONS),
        )
    if rng.random() < 0.06:
        case.later(2, 20)
        case.post(
            CaseExtended,
            CENTRE,
            stage=Stage.handle,
            extra_working_hours=rng.choice([8, 16, 24]),
            approved_by="centre-chief",
            reason=rng.choice(words.EXTEND_REASONS),
        )
    if rng.random() < 0.04:
        case.later(1, 10)
        case.post(
            CaseSuspended, case.dept(), case.dept_late(), reason=rng.choice(words.SUSPEND_REASONS)
        )
        case.later(24, 120)
        case.post(CaseResumed, case.dept(), case.dept_late())
    if rng.random() < PARK_SHARE:
        case.later(2, 24)
        review = case.t.astimezone(SHANGHAI).date() + timedelta(days=rng.randint(30, 90))
        case.post(CaseParked, CENTRE, reason=rng.choice(words.PARK_REASONS), review_date=review)
        case.later(24 * 14, 24 * 60)
        case.post(CaseUnparked, CENTRE, comment=rng.choice(words.UNPARK_COMMENTS))


def _work_until_verified(case: _Case, wrong_verifier: bool = False) -> None:
    """Resolve and verify until the grid worker passes it (a failure is reworked at once)."""
    rng = case.rng
    overdue_share, worst = SLOW_DEPARTMENTS.get(case.department, (0.1, 60))
    for attempt in range(3):
        case.later(2, worst if rng.random() < overdue_share else 30)  # some run well past due
        case.post(
            CaseResolved,
            case.dept(),
            case.dept_late(),
            department_code=case.department,
            resolution=rng.choice(words.RESOLUTIONS),
        )
        case.later(1, 16)
        if wrong_verifier:
            stranger = f"w-unassigned-{rng.getrandbits(24):06x}"
            case.refused(
                CaseVerified,
                (ActorRole.grid_worker, stranger, "gridapp"),
                "WORKER_NOT_ASSIGNED",
                passed=True,
                worker_id=stranger,
            )
            wrong_verifier = False
        passed = attempt == 2 or rng.random() > 0.08
        case.post(
            CaseVerified,
            case.worker(),
            passed=passed,
            worker_id=case.report.verifier,
            comment=None if passed else rng.choice(words.FAILED_VERIFICATION),
        )
        if passed:
            return


def _evaluate(case: _Case) -> bool:
    """The resident's satisfaction, seven times in ten; True when unhappy (1 or 2)."""
    rng = case.rng
    if rng.random() >= 0.7:
        return False
    case.later(1, 48, office=False)
    satisfaction = rng.choices([5, 4, 3, 2, 1], weights=[60, 25, 8, 4, 3])[0]
    case.post(
        CaseEvaluated, (ActorRole.resident, "resident", "residentapp"), satisfaction=satisfaction
    )
    return satisfaction <= 2
