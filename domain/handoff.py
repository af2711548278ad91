"""Arbitration of hand-offs (推诿): a department that says a case is not theirs asks the
command centre (``HandoffRequested``), which rules who owns it (``HandoffRuled``); and when a
case counts as handed off repeatedly. Pure.

- The department the case is dispatched to asks, one request at a time, naming (if it names
  one) another department that is defined.
- The command centre rules, only on the pending request: upheld, it names the department
  that owns the case (another than the requesting one), which gets the case re-dispatched
  with a new claim deadline; refused, the case stays where it is.

Who may ask and who may rule is judged with every other step's sender, by the parties the
two types declare (``domain.parties``); which department the request names, by the step rule
(``case_rules.request_handoff``), as a claim's is. What is left here is the hand-off's own.
- While a request is pending the case waits for the ruling: the departments' steps
  (claim, resolve, suspend, return) and the centre's moves of the case (transfer, park) are
  refused with ``HANDOFF_PENDING``; an escalation and an extension still may be made. The
  handling clock does not stop (Zhejiang practice): the requesting department's deadline
  keeps running, is warned, breached and climbs the ladder as before, and a refusal leaves
  it as it ran.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.calendar import local_date
from domain.decisions import Rejected
from domain.decisions import RejectionCode as Code
from domain.reference_view import ReferenceView
from events.models import CaseEvent, HandoffRequested, HandoffRuled

if TYPE_CHECKING:  # read only: the case state module reads the meanings, which name these rules
    from domain.case_state import CaseState

__all__ = [
    "HANDOFF_FLAG_AT",
    "STEPS_WHILE_PENDING",
    "awaiting_ruling",
    "check_request",
    "check_ruling",
    "repeatedly_handed_off",
]

HANDOFF_FLAG_AT = 2
"""The policy: a case is flagged as handed off repeatedly (多次推诿) once this many hand-off
requests were made on it, whether upheld or refused."""
STEPS_WHILE_PENDING = frozenset({"HandoffRuled", "CaseEscalated", "CaseExtended"})
"""The steps a case waiting for a ruling still takes (derived events aside)."""


def repeatedly_handed_off(requests: int) -> bool:
    """Whether a case with ``requests`` hand-off requests is flagged (``HANDOFF_FLAG_AT``)."""
    return requests >= HANDOFF_FLAG_AT


def _is(state: CaseState) -> str:
    return f"case {state.case_id} is {state.status} with {state.department}"


def awaiting_ruling(state: CaseState, event: CaseEvent) -> Rejected | None:
    """The refusal of a step the case cannot take while its hand-off request awaits the
    ruling; ``None`` when nothing is pending or the step may be taken."""
    if state.handoff_pending is None or event.event_type in STEPS_WHILE_PENDING:
        return None
    if isinstance(event, HandoffRequested):
        return Rejected(
            Code.HANDOFF_ALREADY_PENDING,
            f"{_is(state)}: hand-off request {state.handoff_pending} awaits the command "
            "centre's ruling; one request at a time",
        )
    return Rejected(
        Code.HANDOFF_PENDING,
        f"{_is(state)}: it waits for the command centre's ruling on hand-off request "
        f"{state.handoff_pending}; {event.event_type} may follow the ruling",
    )


def check_request(state: CaseState, event: HandoffRequested, ref: ReferenceView) -> Rejected | None:
    """Why the department's hand-off request is refused, or ``None``."""
    suggested = event.suggested_department
    if suggested is None:
        return None
    if suggested == state.department:
        return Rejected(
            Code.SAME_DEPARTMENT,
            f"{_is(state)}: a hand-off request names another department as the owner",
        )
    return _unknown(state, suggested, event, ref)


def check_ruling(state: CaseState, event: HandoffRuled, ref: ReferenceView) -> Rejected | None:
    """Why the command centre's ruling is refused, or ``None``."""
    if state.handoff_pending is None:
        return Rejected(
            Code.NO_PENDING_HANDOFF,
            f"{_is(state)} and no hand-off request awaits a ruling",
        )
    if event.request_id != state.handoff_pending:
        return Rejected(
            Code.HANDOFF_REQUEST_MISMATCH,
            f"{_is(state)}: the pending hand-off request is {state.handoff_pending}, "
            f"not {event.request_id}",
        )
    owner = event.department_code
    if not event.upheld:
        if owner is not None and owner != state.department:
            return Rejected(
                Code.RULING_DEPARTMENT_MISMATCH,
                f"{_is(state)}: a refused hand-off leaves the case with {state.department}, "
                f"so it cannot name {owner} as the owner; uphold it to re-dispatch",
            )
        return None
    if owner is None:
        return Rejected(
            Code.RULING_WITHOUT_DEPARTMENT,
            f"{_is(state)}: an upheld hand-off names the department that owns the case",
        )
    if owner == state.department:
        return Rejected(
            Code.SAME_DEPARTMENT,
            f"{_is(state)}: an upheld hand-off re-dispatches it to another department; "
            "refuse the request to leave it where it is",
        )
    return _unknown(state, owner, event, ref)


def _unknown(state: CaseState, code: str, event: CaseEvent, ref: ReferenceView) -> Rejected | None:
    at = event.envelope.event_time
    if ref.department_exists(code, at):
        return None
    return Rejected(
        Code.UNKNOWN_DEPARTMENT,
        f"{_is(state)}: department {code} is not defined on {local_date(at)}",
    )
