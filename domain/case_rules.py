"""The rule of each case event: what the reference data must say, and which deadlines it opens.

Each rule gets the case (already known to allow the transition), the submission and the
reference view, and answers a ``Rejected`` or the deadlines to (re)schedule, as ``Plan``s that
``decide`` turns into DeadlineScheduled events. Which event type has which rule is its
declaration in ``domain.meanings``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.calendar import local_date
from domain.decisions import Rejected
from domain.decisions import RejectionCode as Code
from domain.distance import metres_between
from domain.errors import CalendarGap, NoSlaLimit
from domain.handoff import check_request, check_ruling
from domain.reference_view import ReferenceView
from domain.sla import (
    DEFAULT_VERIFY_DISTANCE_M,
    Deadline,
    extend_deadline,
    schedule_deadline,
    shift_deadline_for_pause,
)
from events.models import (
    CaseAccepted,
    CaseClaimed,
    CaseDispatched,
    CaseEscalated,
    CaseEvaluated,
    CaseExtended,
    CaseParked,
    CaseReported,
    CaseResolved,
    CaseReturned,
    CaseTransferred,
    CaseUnparked,
    CaseVerified,
    HandoffRequested,
    HandoffRuled,
    Stage,
)

if TYPE_CHECKING:  # read only: the case state module reads the meanings, which name these rules
    from domain.case_state import CaseState, DeadlineState

__all__ = [
    "MAX_WORKING_HOURS",
    "CaseRule",
    "Outcome",
    "Plan",
    "accept",
    "check_report",
    "claim",
    "dispatch",
    "escalate",
    "evaluate",
    "extend",
    "nothing",
    "park",
    "reopen",
    "request_handoff",
    "resolve",
    "resume",
    "return_",
    "rule_handoff",
    "transfer",
    "unpark",
    "verify",
]

MAX_WORKING_HOURS = 2000


@dataclass(frozen=True)
class Plan:
    """A deadline to schedule: a new one (``deadline_id`` None) or a re-issue of an open one."""

    stage: str
    deadline: Deadline
    deadline_id: str | None = None


Outcome = Rejected | tuple[Plan, ...]
CaseRule = Callable[["CaseState", Any, ReferenceView], Outcome]
"""A case step's rule: the case (already known to allow the transition), the submission and
the reference view -> refused, or the deadlines to (re)schedule."""


def _is(state: CaseState) -> str:
    return f"case {state.case_id} is {state.status}"


def check_report(event: CaseReported, ref: ReferenceView) -> Rejected | None:
    """A new case: its grid in force, its category known, its reporting worker on that grid."""
    on = local_date(event.envelope.event_time)
    actor = event.envelope.actor
    if not ref.grid_effective(event.grid_id, on):
        return Rejected(
            Code.GRID_NOT_EFFECTIVE,
            f"case {event.case_id}: grid {event.grid_id} "
            f"is not a grid in force on {on}; report it on a grid in force then",
        )
    if ref.category(event.category_code, on) is None:
        return Rejected(
            Code.UNKNOWN_CATEGORY,
            f"case {event.case_id}: category {event.category_code!r} is not defined on {on}",
        )
    if actor.role in ("grid_worker", "grid_leader") and not ref.worker_assigned(
        actor.id, event.grid_id, on
    ):
        return _not_assigned(event.case_id, actor.id, event.grid_id, on, ref)
    return None


def _not_assigned(case_id: str, worker: str, grid: str, on: Any, ref: ReferenceView) -> Rejected:
    where = ref.worker_grid(worker, on)
    now = f"assigned to grid {where}" if where else "not assigned to any grid"
    return Rejected(
        Code.WORKER_NOT_ASSIGNED,
        f"case {case_id}: worker {worker} is {now} on "
        f"{on}, not to grid {grid}; the grid's own worker must submit this",
    )


def _schedule(state: CaseState, ref: ReferenceView, stage: str, at: datetime) -> Outcome:
    on = local_date(at)
    category = ref.category(state.category, on)
    if category is None:
        return Rejected(
            Code.UNKNOWN_CATEGORY,
            f"{_is(state)} of category {state.category!r}, "
            f"which is not defined on {on}; reclassify it first",
        )
    policy = ref.sla_policy(category.sla_policy_id, on)
    if policy is None:
        return Rejected(
            Code.UNKNOWN_SLA_POLICY,
            f"{_is(state)}: SLA policy "
            f"{category.sla_policy_id} of category {category.code} is not in force "
            f"on {on}; publish a SlaPolicyDefined for it",
        )
    try:
        return (Plan(stage, schedule_deadline(policy, ref.calendar(), stage, state.priority, at)),)
    except NoSlaLimit as exc:
        return Rejected(Code.NO_SLA_LIMIT, f"{_is(state)}: {exc}")
    except CalendarGap as exc:
        return Rejected(Code.CALENDAR_GAP, f"{_is(state)}: {exc}")


def _department(state: CaseState, code: str) -> Rejected | None:
    if code == state.department:
        return None
    return Rejected(
        Code.WRONG_DEPARTMENT,
        f"{_is(state)} with department {state.department}, "
        f"not {code}; only the department that holds the case may do this",
    )


def accept(state: CaseState, event: CaseAccepted, ref: ReferenceView) -> Outcome:
    code = event.category_code
    if code is not None and ref.category(code, event.envelope.event_time) is None:
        return Rejected(
            Code.UNKNOWN_CATEGORY,
            f"{_is(state)}: cannot reclassify it as "
            f"{code!r}, no such category on {local_date(event.envelope.event_time)}",
        )
    return ()


def dispatch(state: CaseState, event: CaseDispatched, ref: ReferenceView) -> Outcome:
    at = event.envelope.event_time
    if not ref.department_exists(event.department_code, at):
        return Rejected(
            Code.UNKNOWN_DEPARTMENT,
            f"{_is(state)}: department {event.department_code} is not defined on {local_date(at)}",
        )
    return _schedule(state, ref, Stage.claim, at)


def claim(state: CaseState, event: CaseClaimed, ref: ReferenceView) -> Outcome:
    wrong = _department(state, event.department_code)
    return wrong or _schedule(state, ref, Stage.handle, event.envelope.event_time)


def transfer(state: CaseState, event: CaseTransferred, ref: ReferenceView) -> Outcome:
    at = event.envelope.event_time
    wrong = _department(state, event.from_department)
    if wrong:
        return wrong
    if event.to_department == event.from_department:
        return Rejected(
            Code.SAME_DEPARTMENT,
            f"{_is(state)} with {state.department}: a transfer must name another department",
        )
    if not ref.department_exists(event.to_department, at):
        return Rejected(
            Code.UNKNOWN_DEPARTMENT,
            f"{_is(state)}: department {event.to_department} is not defined on {local_date(at)}",
        )
    return _schedule(state, ref, Stage.claim, at)


def return_(state: CaseState, event: CaseReturned, ref: ReferenceView) -> Outcome:
    return _department(state, event.department_code) or ()


def request_handoff(state: CaseState, event: HandoffRequested, ref: ReferenceView) -> Outcome:
    return _department(state, event.department_code) or check_request(state, event, ref) or ()


def rule_handoff(state: CaseState, event: HandoffRuled, ref: ReferenceView) -> Outcome:
    refused = check_ruling(state, event, ref)
    if refused is not None:
        return refused
    if not event.upheld:  # the requesting department keeps the case and its running deadline
        return ()
    return _schedule(state, ref, Stage.claim, event.envelope.event_time)


def _as_deadline(d: DeadlineState) -> Deadline:
    return Deadline(
        d.started_at,
        d.due_time,
        None,
        d.working_hours,
        0,
        d.policy_id,
        d.policy_version,
        d.calendar_version,
    )


def extend(state: CaseState, event: CaseExtended, ref: ReferenceView) -> Outcome:
    open_ = state.open_deadline()
    if open_ is None or open_.stage != event.stage:
        return Rejected(
            Code.NO_OPEN_DEADLINE, f"{_is(state)} with no open {event.stage} deadline to extend"
        )
    if open_.working_hours + event.extra_working_hours > MAX_WORKING_HOURS:
        return Rejected(
            Code.EXTENSION_TOO_LONG,
            f"{_is(state)}: its {event.stage} deadline "
            f"would exceed {MAX_WORKING_HOURS} working hours",
        )
    try:
        longer = extend_deadline(ref.calendar(), _as_deadline(open_), event.extra_working_hours)
    except CalendarGap as exc:
        return Rejected(Code.CALENDAR_GAP, f"{_is(state)}: {exc}")
    return (Plan(open_.stage, longer, open_.deadline_id),)


def resume(state: CaseState, event: Any, ref: ReferenceView) -> Outcome:
    open_ = state.open_deadline()
    if open_ is None or state.suspended_at is None:
        return ()
    try:
        shifted = shift_deadline_for_pause(
            ref.calendar(), _as_deadline(open_), state.suspended_at, event.envelope.event_time
        )
    except CalendarGap as exc:
        return Rejected(Code.CALENDAR_GAP, f"{_is(state)}: {exc}")
    if shifted.due_time == open_.due_time:  # paused outside working time: nothing to move
        return ()
    return (Plan(open_.stage, shifted, open_.deadline_id),)


def park(state: CaseState, event: CaseParked, ref: ReferenceView) -> Outcome:
    on = local_date(event.envelope.event_time)
    if event.review_date < on:
        return Rejected(
            Code.REVIEW_DATE_IN_PAST,
            f"{_is(state)}: review date {event.review_date} is before {on}, the day it is "
            "parked; set a review date to come",
        )
    return ()


def unpark(state: CaseState, event: CaseUnparked, ref: ReferenceView) -> Outcome:
    return resume(state, event, ref)


def escalate(state: CaseState, event: CaseEscalated, ref: ReferenceView) -> Outcome:
    if event.from_level != state.level:
        return Rejected(
            Code.LEVEL_MISMATCH,
            f"{_is(state)} at level {state.level}, not "
            f"{event.from_level}; escalate from {state.level} to a higher level",
        )
    return ()


def resolve(state: CaseState, event: CaseResolved, ref: ReferenceView) -> Outcome:
    wrong = _department(state, event.department_code)
    return wrong or _schedule(state, ref, Stage.verify, event.envelope.event_time)


def verify(state: CaseState, event: CaseVerified, ref: ReferenceView) -> Outcome:
    at = event.envelope.event_time
    if not ref.worker_assigned(event.worker_id, state.grid_id, at):
        return _not_assigned(state.case_id, event.worker_id, state.grid_id, local_date(at), ref)
    return _off_site(state, event, ref) or (
        () if event.passed else _schedule(state, ref, Stage.handle, at)
    )


def _off_site(state: CaseState, event: CaseVerified, ref: ReferenceView) -> Rejected | None:
    """A verification on site: within the policy's distance of where the case was reported.
    One with no location, of a case reported with none, cannot be judged and is not refused."""
    if event.location is None or state.location is None:
        return None
    on = local_date(event.envelope.event_time)
    category = ref.category(state.category, on)
    policy = ref.sla_policy(category.sla_policy_id, on) if category else None
    limit = policy.verify_distance_m if policy else DEFAULT_VERIFY_DISTANCE_M
    away = metres_between((event.location.lat, event.location.lon), state.location)
    if away <= limit:
        return None
    return Rejected(
        Code.VERIFIED_OFF_SITE,
        f"{_is(state)}: verified at {away:.0f} m from where it was reported, farther than "
        f"the {limit} m its policy allows; verify it on site",
    )


def reopen(state: CaseState, event: Any, ref: ReferenceView) -> Outcome:
    return _schedule(state, ref, Stage.handle, event.envelope.event_time)


def evaluate(state: CaseState, event: CaseEvaluated, ref: ReferenceView) -> Outcome:
    if state.evaluated:
        return Rejected(
            Code.ALREADY_EVALUATED,
            f"{_is(state)} and already evaluated; a case is evaluated once after it closes",
        )
    return ()


def nothing(state: CaseState, event: Any, ref: ReferenceView) -> Outcome:
    return ()
