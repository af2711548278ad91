"""Who may do what: each case step is judged against who sent it (``refused_sender``).

Each step's parties are declared with its meaning (``domain.meanings``): the command centre of
the case's district triages, dispatches, rules on hand-offs, puts on the backlog, escalates,
closes and reopens; the department the case is dispatched to claims, resolves and returns it,
and asks for a hand-off; a worker of the case's grid verifies it; anyone may report or
evaluate. This is the one check of who sent a step: the rules of ``domain.case_rules`` and
``domain.handoff`` judge what the step says, never who said it.

Who a sender is comes from two places: the envelope's source system, which the platform
stamps, and its actor. Which systems speak for which departments and districts is reference
data (``SourceSystemDefined``); a system with a definition in force on the step's date speaks
only for what it lists. A system with none (a tool, or a feed whose definition is not yet
published) is taken at its actor's word, but every step still needs an actor of its party's
role whatever the system's scope: a command-centre step a command-centre actor, a department
step a department actor, a verification a grid worker or leader; the department or worker a
step names is checked by the step's own rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from domain.calendar import local_date
from domain.decisions import Rejected
from domain.decisions import RejectionCode as Code
from domain.meaning_types import Party
from domain.meanings import CASE_MEANINGS
from domain.reference_view import ReferenceView, SystemScope
from events.models import CaseEvent

if TYPE_CHECKING:
    from domain.case_state import CaseState

__all__ = ["ANY", "WORKER_ROLES", "refused_sender"]

ANY = "*"
WORKER_ROLES = frozenset({"grid_worker", "grid_leader"})


def _outside(scope: SystemScope, kind: str, code: str | None) -> str | None:
    """Why ``scope`` does not speak for the department or district ``code`` (``kind``:
    departments or districts), or ``None`` when it does."""
    listed: tuple[str, ...] = getattr(scope, kind)
    if ANY in listed or (code is not None and code in listed):
        return None
    return f"system {scope.system} speaks for {kind} {', '.join(listed) or 'none'}, not {code}"


def _case_district(
    state: CaseState, scope: SystemScope, ref: ReferenceView, on: date
) -> str | None:
    """Why ``scope`` does not speak for the district of the case's grid on ``on``."""
    return _outside(scope, "districts", ref.parent_chain(state.grid_id, on).get("district"))


def _sender(event: CaseEvent) -> str:
    env = event.envelope
    return f"{env.actor.role} {env.actor.id} of system {env.source_system}"


Judge = Callable[["CaseState", CaseEvent, SystemScope | None, ReferenceView, date], str | None]
"""A party's test of a sender: why it is not that party, or ``None`` when it is."""


def _department(
    state: CaseState, event: CaseEvent, scope: SystemScope | None, ref: ReferenceView, on: date
) -> str | None:
    if event.envelope.actor.role != "department":
        return f"{_sender(event)} is not a department"
    if scope is None:
        return None
    why = _outside(scope, "departments", state.department)
    return None if why is None else f"{why}, which holds the case"


def _command_centre(
    state: CaseState, event: CaseEvent, scope: SystemScope | None, ref: ReferenceView, on: date
) -> str | None:
    actor = event.envelope.actor
    if actor.role != "command_centre":
        return f"{_sender(event)} is not a command centre"
    return None if scope is None else _case_district(state, scope, ref, on)


def _grid_worker(
    state: CaseState, event: CaseEvent, scope: SystemScope | None, ref: ReferenceView, on: date
) -> str | None:
    actor = event.envelope.actor
    if actor.role not in WORKER_ROLES:
        return f"{_sender(event)} is not a grid worker"
    if scope is None:
        return None
    if not ref.worker_assigned(actor.id, state.grid_id, on):
        return f"{actor.role} {actor.id} is not assigned to grid {state.grid_id} on {on}"
    return _case_district(state, scope, ref, on)


def _engine(
    state: CaseState, event: CaseEvent, scope: SystemScope | None, ref: ReferenceView, on: date
) -> str | None:
    return f"{event.event_type} is derived by the engine, not sent by {_sender(event)}"


_JUDGES: dict[Party, tuple[Code, Judge]] = {
    Party.engine: (Code.DERIVED_EVENT_FROM_OUTSIDE, _engine),
    Party.department: (Code.WRONG_DEPARTMENT, _department),
    Party.command_centre: (Code.NOT_COMMAND_CENTRE, _command_centre),
    Party.grid_worker: (Code.NOT_GRID_WORKER, _grid_worker),
}


def refused_sender(state: CaseState, event: CaseEvent, ref: ReferenceView) -> Rejected | None:
    """``None`` when the sender of the case step ``event`` is one of the parties its type
    declares; else the rejection of the first of them, with why the sender is none of them."""
    parties = CASE_MEANINGS[event.event_type].parties
    if Party.anyone in parties:
        return None
    env = event.envelope
    on = local_date(env.event_time)
    scope = ref.system_scope(env.source_system, on)
    reasons = []
    for party in parties:
        _, judge = _JUDGES[party]
        why = judge(state, event, scope, ref, on)
        if why is None:
            return None
        reasons.append(why)
    code = _JUDGES[parties[0]][0]
    who = " or ".join(str(p).replace("_", " ") for p in parties)
    return Rejected(
        code,
        f"case {state.case_id} is {state.status}: only its {who} may send "
        f"{event.event_type}; {'; '.join(reasons)}",
    )
