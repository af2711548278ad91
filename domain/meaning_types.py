"""The vocabulary the meanings are written in (``domain.meanings`` holds the table itself): the
named markers of a part an event type does not have (``No``) or that no case rule decides
(``Lifecycle``, ``Decided``), what a step does to its case's deadlines (``DeadlineEffect``),
who may send it (``Party``), and the shapes of one declaration (``CaseMeaning``,
``RecordMeaning``).

A module of its own so that the rules, the folds and the check of who sent a step can name
this vocabulary without importing the table, which imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from domain.status import Status as S

if TYPE_CHECKING:  # only the shapes' annotations name the rules and counters
    from domain.case_rules import CaseRule
    from domain.cohorts import Cohorts
    from domain.counters import Counters
    from domain.reference_checks import Check

__all__ = [
    "CaseMeaning",
    "Datum",
    "DeadlineEffect",
    "Decided",
    "Lifecycle",
    "Meaning",
    "No",
    "Party",
    "RecordMeaning",
    "Summary",
]

Datum = Mapping[str, Any]
Summary = Callable[[Datum], str]
"""An event's line in its case's trace (全程留痕), from its Avro datum."""


class No(StrEnum):
    """A part an event type explicitly does not have."""

    summary = "no line in a case's trace: not an event of a case"
    counters = "moves no counter"
    cohorts = "moves no cohort: every counter it moves is of its own day"
    check = "no check beyond its stream's own (envelope, recording time, back-dating)"


class Lifecycle(StrEnum):
    """A case event's transition when it is not a move between statuses."""

    starts = "starts a case (reported)"
    keeps = "keeps the case's status: derived by the engine beside a step"


class Decided(StrEnum):
    """Who decides an event type when no case rule of ``domain.case_rules`` does."""

    on_report = "a new case: its grid, category and reporter (case_rules.check_report)"
    never_submitted = "derived by the engine with its cause; refused from outside"
    deadline_signal = "checked against the deadline it names (state_machine)"
    ladder_step = "checked against the case's overdue deadline (ladder.decide_ladder)"
    visit_rules = "the visit's own rules (visit_rules.decide_visit)"
    by_workflow = "written by the workflow itself, never submitted"


class DeadlineEffect(StrEnum):
    """What a case event does to the case's deadlines."""

    none = "none"
    met = "met"  # the stage's work is done: its open deadline met (or late)
    cancelled = "cancelled"  # the stage restarts: its open deadline cancelled
    paused = "paused"  # the clock stops
    resumed = "resumed"  # the clock runs again (a pause's due times move by its own rule)
    scheduled = "scheduled"  # a deadline scheduled, or an open one moved
    signalled = "signalled"  # a deadline warned or breached
    urged = "urged"  # 催办 counted on its deadline
    # a hand-off ruling: the stage restarts (cancelled) when it upholds the request and the
    # case is re-dispatched; a refusal leaves the deadline running
    cancelled_if_upheld = "cancelled_if_upheld"


class Party(StrEnum):
    """Who may send a case step (see README, "Who may do what")."""

    anyone = "anyone"  # a report or an evaluation: grid workers, residents, departments
    command_centre = "command_centre"  # the command centre of the case's street or district
    department = "department"  # the department the case is dispatched to
    grid_worker = "grid_worker"  # a worker assigned to the case's grid
    engine = "engine"  # derived: the engine's own systems only


@dataclass(frozen=True)
class CaseMeaning:
    """What one case event type means, everywhere it matters."""

    event_type: str
    transition: Mapping[S, S] | Lifecycle  # {from status: to status}
    rule: CaseRule | Decided
    deadline_effect: DeadlineEffect
    summary: Summary
    counters: Counters | No
    parties: tuple[Party, ...]  # who may send it: any one of them
    cohorts: Cohorts | No  # the counters it moves on the day its case joined a cohort


@dataclass(frozen=True)
class RecordMeaning:
    """What a visit, reference or workflow record means: it has no case lifecycle."""

    event_type: str
    stream: Literal["visit", "reference", "workflow"]
    rule: Check | Decided | No
    summary: No
    counters: Callable[..., object] | No


Meaning = CaseMeaning | RecordMeaning
