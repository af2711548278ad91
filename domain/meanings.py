"""Each event type's meaning, declared once: for a case event, the transition it makes, the
rule that decides it, what it does to the case's deadlines, its line in the case's trace, the
counters it moves, who may send it and what it moves in the cohorts counted on another day
(``domain.cohorts``); for a visit, reference or workflow record, its stream, its check and its
counters.

The state machine (``TRANSITIONS``, the rules), ``evolve``, the case fold (summaries, deadline
settling and pausing) and the statistics and cohort moves all read these tables, so a new
event type is one declaration here (with its schema and tests). A part an event type does not
have is declared so, with a named marker, never left out: ``tests/unit/test_meanings.py``
walks the schema catalog and names any type or part missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

from domain import case_rules as rule
from domain import cohorts as cohort
from domain import counters as count
from domain import reference_checks as check
from domain.case_rules import CaseRule
from domain.cohorts import Cohort, Cohorts
from domain.counters import Counters
from domain.reference_checks import Check
from domain.status import OPEN_STATUSES
from domain.status import Status as S

__all__ = [
    "CASE_MEANINGS",
    "MEANINGS",
    "RECORD_MEANINGS",
    "TRANSITIONS",
    "CaseMeaning",
    "DeadlineEffect",
    "Decided",
    "Lifecycle",
    "Meaning",
    "No",
    "Party",
    "RecordMeaning",
    "Summary",
    "step_rule",
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

E = DeadlineEffect
P = Party
# in the order a refusal names them: the first party's code is the rejection's
_CENTRE, _DEPT, _WORKER = (P.command_centre,), (P.department,), (P.grid_worker,)
_ENGINE, _ANYONE = (P.engine,), (P.anyone,)
_DEPT_OR_CENTRE = (P.department, P.command_centre)
_IN_PROGRESS_OR_DISPATCHED = {S.dispatched: S.dispatched, S.in_progress: S.dispatched}
_FUNNEL: Cohorts = {Cohort.funnel: cohort.funnel}


def _due(d: Datum, field: str) -> str:
    return str(d[field])[:16]  # t's %Y-%m-%d %H:%M, at half the cost of strftime


_CASE = (
    CaseMeaning(
        "CaseReported",
        Lifecycle.starts,
        Decided.on_report,
        E.none,
        lambda d: f"reported via {d['channel']}: {d['title']}",
        count.reported,
        _ANYONE,
        No.cohorts,
    ),
    CaseMeaning(
        "CaseAccepted",
        {S.reported: S.accepted},
        rule.accept,
        E.none,
        lambda d: "accepted" + (f" as {d['category_code']}" if d.get("category_code") else ""),
        count.accepted,
        _CENTRE,
        _FUNNEL,
    ),
    CaseMeaning(
        "CaseRejected",
        {S.reported: S.rejected},
        rule.nothing,
        E.none,
        lambda d: f"rejected ({d['reason']}): {d['comment']}",
        count.rejected,
        _CENTRE,
        No.cohorts,
    ),
    CaseMeaning(
        "CaseDispatched",
        {S.accepted: S.dispatched},
        rule.dispatch,
        E.none,
        lambda d: f"dispatched to {d['department_code']}",
        count.dispatched,
        _CENTRE,
        {Cohort.due_to_close: cohort.first_dispatched, Cohort.funnel: cohort.funnel},
    ),
    CaseMeaning(
        "CaseClaimed",
        {S.dispatched: S.in_progress},
        rule.claim,
        E.met,
        lambda d: f"claimed by {d['department_code']}",
        No.counters,
        _DEPT,
        No.cohorts,
    ),
    CaseMeaning(
        "CaseTransferred",
        _IN_PROGRESS_OR_DISPATCHED,
        rule.transfer,
        E.cancelled,
        lambda d: f"transferred {d['from_department']} → {d['to_department']}: {d['reason']}",
        count.transferred,
        _CENTRE,  # 转派 is the centre's: a department asks for a hand-off (HandoffRequested)
        No.cohorts,
    ),
    CaseMeaning(
        "CaseReturned",
        {S.dispatched: S.accepted, S.in_progress: S.accepted},
        rule.return_,
        E.cancelled,
        lambda d: f"returned by {d['department_code']}: {d['reason']}",
        count.returned,
        _DEPT,
        No.cohorts,
    ),
    CaseMeaning(
        "CaseExtended",
        {S.in_progress: S.in_progress},
        rule.extend,
        E.none,  # its rule moves the open deadline later (a DeadlineScheduled of the same id)
        lambda d: f"{d['stage']} extended by {d['extra_working_hours']} working hours",
        count.extended,
        _DEPT_OR_CENTRE,  # the department posts the extension its approver granted
        No.cohorts,
    ),
    CaseMeaning(
        "CaseSuspended",
        {S.in_progress: S.suspended},
        rule.nothing,
        E.paused,
        lambda d: f"suspended: {d['reason']}",
        No.counters,
        _DEPT_OR_CENTRE,
        No.cohorts,
    ),
    CaseMeaning(
        "CaseResumed",
        {S.suspended: S.in_progress},
        rule.resume,
        E.resumed,
        lambda d: "resumed",
        No.counters,
        _DEPT_OR_CENTRE,
        No.cohorts,
    ),
    CaseMeaning(
        "CaseParked",
        {S.in_progress: S.parked},
        rule.park,
        E.paused,
        lambda d: f"parked (挂账) until review on {d['review_date']}: {d['reason']}",
        count.parked,
        _CENTRE,
        {Cohort.due_to_close: cohort.parked},
    ),
    CaseMeaning(
        "CaseUnparked",
        {S.parked: S.in_progress},
        rule.unpark,
        E.resumed,
        lambda d: "off the backlog" + (f": {d['comment']}" if d.get("comment") else ""),
        count.unparked,
        _CENTRE,
        {Cohort.due_to_close: cohort.unparked},
    ),
    CaseMeaning(
        "HandoffRequested",
        {S.dispatched: S.dispatched, S.in_progress: S.in_progress},  # waits for the ruling
        rule.request_handoff,
        E.none,  # the clock runs on while the request waits
        lambda d: (
            f"hand-off (推诿) asked by {d['department_code']}"
            + (
                f", says {d['suggested_department']} owns it"
                if d.get("suggested_department")
                else ""
            )
            + f": {d['reason']}"
        ),
        count.handoff_requested,
        _DEPT,
        No.cohorts,
    ),
    CaseMeaning(
        "HandoffRuled",
        # upheld: re-dispatched (``next_status``); refused: where it was
        {S.dispatched: S.dispatched, S.in_progress: S.in_progress},
        rule.rule_handoff,
        E.cancelled_if_upheld,
        lambda d: (
            (
                f"hand-off upheld: re-dispatched to {d['department_code']}"
                if d["upheld"]
                else "hand-off refused: the case stays"
            )
            + (f" ({d['comment']})" if d.get("comment") else "")
        ),
        count.handoff_ruled,
        _CENTRE,
        No.cohorts,
    ),
    CaseMeaning(
        "CaseEscalated",
        {status: status for status in OPEN_STATUSES},
        rule.escalate,
        E.none,
        lambda d: f"escalated {d['from_level']} → {d['to_level']}: {d['reason']}",
        count.escalated,
        _CENTRE,
        No.cohorts,
    ),
    CaseMeaning(
        "CaseResolved",
        {S.in_progress: S.resolved},
        rule.resolve,
        E.met,
        lambda d: f"resolved by {d['department_code']}: {d['resolution']}",
        count.resolved,
        _DEPT,
        {Cohort.funnel: cohort.funnel, Cohort.resolution: cohort.replaced_resolution},
    ),
    CaseMeaning(
        "CaseVerified",
        {S.resolved: S.verified},  # or back to in_progress when it failed (``next_status``)
        rule.verify,
        E.met,
        lambda d: (
            ("verified on site" if d["passed"] else "failed verification") + f" by {d['worker_id']}"
        ),
        count.verified,
        _WORKER,
        _FUNNEL,
    ),
    CaseMeaning(
        "CaseReopened",
        {S.resolved: S.in_progress, S.closed: S.in_progress},
        rule.reopen,
        E.cancelled,
        lambda d: f"reopened ({d['reason']})",
        count.reopened,
        _CENTRE,
        {Cohort.due_to_close: cohort.reopened, Cohort.funnel: cohort.funnel},
    ),
    CaseMeaning(
        "CaseClosed",
        {S.verified: S.closed},
        rule.nothing,
        E.none,
        lambda d: "closed",
        count.closed,
        _CENTRE,
        {Cohort.due_to_close: cohort.closed, Cohort.funnel: cohort.funnel},
    ),
    CaseMeaning(
        "CaseEvaluated",
        {S.closed: S.closed},
        rule.evaluate,
        E.none,
        lambda d: f"evaluated {d['satisfaction']}/5",
        count.evaluated,
        _ANYONE,
        No.cohorts,
    ),
    CaseMeaning(
        "DeadlineScheduled",
        Lifecycle.keeps,
        Decided.never_submitted,
        E.scheduled,
        lambda d: (
            f"{d['stage']} due {_due(d, 'due_time')} UTC "
            f"({d['working_hours']} working hours, policy {d['policy_id']} v{d['policy_version']})"
        ),
        No.counters,
        _ENGINE,
        No.cohorts,
    ),
    CaseMeaning(
        "DeadlineWarned",
        Lifecycle.keeps,
        Decided.deadline_signal,
        E.signalled,
        lambda d: f"{d['stage']} deadline warning",
        No.counters,
        _ENGINE,
        No.cohorts,
    ),
    CaseMeaning(
        "DeadlineBreached",
        Lifecycle.keeps,
        Decided.deadline_signal,
        E.signalled,
        lambda d: f"{d['stage']} deadline breached",
        # counted once per deadline when its stage ends (stats_moves.dated_moves), however
        # late or early the trigger noticed it
        No.counters,
        _ENGINE,
        No.cohorts,
    ),
    CaseMeaning(
        "CaseUrged",
        Lifecycle.keeps,
        Decided.ladder_step,
        E.urged,
        lambda d: f"{d['stage']} overdue: urged (催办) #{d['urge_number']}",
        count.urged,
        _ENGINE,
        No.cohorts,
    ),
    CaseMeaning(
        "CaseSupervised",
        Lifecycle.keeps,
        Decided.ladder_step,
        E.none,
        lambda d: (
            f"{d['stage']} overdue: supervised (督办) by the {d['level']}, "
            f"due {_due(d, 'supervision_due_time')} UTC"
        ),
        count.supervised,
        _ENGINE,
        No.cohorts,
    ),
    CaseMeaning(
        "CaseNoticed",
        Lifecycle.keeps,
        Decided.ladder_step,
        E.none,
        lambda d: f"{d['stage']} overdue: in the notice (通报) of {d['period']}",
        count.noticed,
        _ENGINE,
        No.cohorts,
    ),
)


def _reference(event_type: str, check_: Check | No) -> RecordMeaning:
    return RecordMeaning(event_type, "reference", check_, No.summary, No.counters)


_RECORDS = (
    # the visit's counters are per visit, not per case (stats_moves.visit_counts)
    RecordMeaning("VisitRecorded", "visit", Decided.visit_rules, No.summary, count.visit_counts),
    _reference("PlaceDefined", check.place_defined),
    _reference("PlaceRetired", check.place_retired),
    _reference("WorkerAssigned", check.worker_assigned),
    _reference("DepartmentDefined", No.check),
    _reference("CategoryDefined", check.category_defined),
    _reference("SlaPolicyDefined", check.sla_policy_defined),
    _reference("CalendarDefined", check.calendar_defined),
    _reference("LexiconPublished", check.lexicon_published),
    _reference("SourceSystemDefined", check.source_system_defined),
    _reference("PersonalDataErased", No.check),
    RecordMeaning("SubmissionRejected", "workflow", Decided.by_workflow, No.summary, No.counters),
    RecordMeaning("SubmissionOutcome", "workflow", Decided.by_workflow, No.summary, No.counters),
)

CASE_MEANINGS: Mapping[str, CaseMeaning] = MappingProxyType({m.event_type: m for m in _CASE})
"""case event type (derived ones included) -> its meaning."""
RECORD_MEANINGS: Mapping[str, RecordMeaning] = MappingProxyType({m.event_type: m for m in _RECORDS})
"""visit, reference and workflow record type -> its meaning."""
MEANINGS: Mapping[str, Meaning] = MappingProxyType({**CASE_MEANINGS, **RECORD_MEANINGS})
"""every event type of the catalog -> its meaning."""

TRANSITIONS: Mapping[str, Mapping[S, S]] = MappingProxyType(
    {t: m.transition for t, m in CASE_MEANINGS.items() if not isinstance(m.transition, Lifecycle)}
)
"""DESIGN.md's lifecycle table: case step type -> {from status: to status}."""


def step_rule(event_type: str) -> CaseRule:
    """The rule of the case step ``event_type`` (a type with a transition between statuses).

    Raises:
        LookupError: no case step of that type, or one not decided by a rule of its own.
    """
    decides = CASE_MEANINGS[event_type].rule
    if not isinstance(decides, Decided):
        return decides
    raise LookupError(f"{event_type} is not a case step with a rule: {decides}")
