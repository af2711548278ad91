"""Each event type's meaning, declared once: for a case event, the transition it makes, the
rule that decides it, what it does to the case's deadlines, its line in the case's trace, the
counters it moves, who may send it and what it moves in the cohorts counted on another day
(``domain.cohorts``); for a visit, reference or workflow record, its stream, its check and its
counters. The vocabulary the table is written in (its markers, enums and shapes) is
``domain.meaning_types``.

The state machine (``TRANSITIONS``, the rules), ``evolve``, the case fold (summaries, deadline
settling and pausing) and the statistics and cohort moves all read these tables, so a new
event type is one declaration here (with its schema and tests). A part an event type does not
have is declared so, with a named marker, never left out: ``tests/unit/test_meanings.py``
walks the schema catalog and names any type or part missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from domain import case_rules as rule
from domain import cohorts as cohort
from domain import counters as count
from domain import reference_checks as check
from domain.case_rules import CaseRule
from domain.cohorts import Cohort, Cohorts
from domain.meaning_types import (
    CaseMeaning,
    Datum,
    DeadlineEffect,
    Decided,
    Lifecycle,
    Meaning,
    No,
    Party,
    RecordMeaning,
)
from domain.reference_checks import Check
from domain.status import OPEN_STATUSES
from domain.status import Status as S

__all__ = [
    "CASE_MEANINGS",
    "MEANINGS",
    "RECORD_MEANINGS",
    "TRANSITIONS",
    "step_rule",
]

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
