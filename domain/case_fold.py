"""The case read model as a pure fold: one canonical case event (as its Avro datum) applied
to the case's row and deadlines, giving the new row, its timeline entry and what changed.

The projector and replay both call ``fold_case``; nothing here reads a clock, a socket or
the environment, so a live projection and a replay of the same log cannot drift apart.
Working hours come from the calendar versions recorded on the case's deadlines, never from
"the calendar now", so a calendar published later does not change an old answer. What each
event type does to the deadlines and its line in the trace are its declaration in
``domain.meanings``; the deadline rows and how each effect applies are ``domain.deadline_rows``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from domain.calendar import local_date
from domain.case_state import CorruptStream, Status, next_status, verdict
from domain.copies import built, with_changes
from domain.deadline_rows import (
    DeadlineRow,
    apply_signal,
    deadline_status,
    hours_between,
    paused,
    resumed,
    scheduled,
    settled,
)
from domain.handoff import repeatedly_handed_off
from domain.meaning_types import DeadlineEffect
from domain.meanings import CASE_MEANINGS
from domain.reference_view import ReferenceView
from events.models import LADDER_EVENT_TYPES

__all__ = ["CaseRow", "CaseStep", "TimelineRow", "fold_case"]

Datum = Mapping[str, Any]

_STATUS = {str(s): s for s in Status}  # a lookup: cheaper than ``Status(value)`` per event


@dataclass(frozen=True)
class CaseRow:
    """A case's current state with its whole history summarised; one row of ``cases``."""

    case_id: str
    status: str
    category_code: str
    priority: str
    channel: str
    title: str
    grid_id: str
    village_code: str | None
    street_code: str | None
    district_code: str | None
    reporter_id: str
    reporter_role: str
    visit_id: str | None
    reported_at: datetime
    department_code: str | None = None
    escalation_level: str = "street"
    accepted_at: datetime | None = None
    rejected_at: datetime | None = None
    first_dispatched_at: datetime | None = None
    dispatched_at: datetime | None = None
    claimed_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None  # the department of the resolution that counts (the last)
    verified_at: datetime | None = None
    closed_at: datetime | None = None
    evaluated_at: datetime | None = None
    transfers: int = 0
    returns: int = 0
    handoff_requests: int = 0  # 推诿: hand-off requests made on it, upheld or refused
    handoffs_upheld: int = 0
    handoffs_refused: int = 0
    handoff_pending_since: datetime | None = None  # a request awaits the ruling since
    handoff_flagged_at: datetime | None = None  # flagged as handed off repeatedly (多次推诿)
    reworks: int = 0
    reopens: int = 0
    extensions: int = 0
    extended_hours: int = 0
    escalations: int = 0
    suspended_since: datetime | None = None  # the clock stopped: suspended or parked
    suspended_hours: float = 0.0  # working hours the clock stood still, parked included
    parked_since: datetime | None = None  # 挂账: on the backlog since
    review_date: date | None = None  # when the command centre reviews it, while parked
    park_reason: str | None = None  # why it is on the backlog, while parked
    parks: int = 0
    parked_hours: float = 0.0
    urges: int = 0  # 催办 over all its deadlines
    last_urged_at: datetime | None = None
    supervision_level: str | None = None  # 督办: street, then district
    supervised_at: datetime | None = None
    supervision_due: datetime | None = None
    notices: int = 0  # 通报: month-close notices it was listed in
    last_notice_period: str | None = None
    verifications: int = 0
    verifications_passed: int = 0
    handling_hours: float | None = None
    on_time: bool | None = None
    satisfaction: int | None = None
    last_sequence: int = 1
    last_event_time: datetime | None = None
    first_department_code: str | None = None  # the department first dispatched to


class TimelineRow(NamedTuple):
    """One step of a case's full trace (全程留痕): who, what, when, from which system.

    A named tuple, as every appended row is: one is built per event, and its fields in
    column order are what COPY sends.
    """

    case_id: str
    sequence: int
    event_type: str
    event_id: str
    event_time: datetime
    recorded_time: datetime
    actor_id: str
    actor_role: str
    source_system: str
    summary: str
    log_offset: int = -1  # the record's offset in its partition of the case log (-1: unknown)


class CaseStep(NamedTuple):
    """What one event did: the case before and after, its deadlines after, and the trace."""

    before: CaseRow | None
    after: CaseRow
    deadlines: tuple[DeadlineRow, ...]
    changed_deadlines: tuple[DeadlineRow, ...]
    timeline: TimelineRow


def fold_case(
    row: CaseRow | None,
    deadlines: tuple[DeadlineRow, ...],
    event_type: str,
    datum: Datum,
    ref: ReferenceView,
) -> CaseStep | None:
    """Apply one canonical case event; ``None`` for a re-sent event already applied.

    Raises:
        CorruptStream: the event does not follow the case's last sequence, or the lifecycle
            cannot explain it (a canonical log the workflow would never have written).
    """
    env = datum["envelope"]
    sequence = env["sequence"]
    case_id = datum["case_id"]
    if sequence is None:
        raise CorruptStream(f"{event_type} {env['event_id']} of case {case_id} has no sequence")
    if row is not None and sequence <= row.last_sequence:
        return None  # the workflow re-sent it after a crash: readers dedupe by sequence
    expected = 1 if row is None else row.last_sequence + 1
    if sequence != expected:
        raise CorruptStream(
            f"case {case_id}: {event_type} {env['event_id']} has sequence {sequence}, "
            f"expected {expected}: the canonical log has a gap"
        )
    when: datetime = env["event_time"]
    if row is None:
        if event_type != "CaseReported":
            raise CorruptStream(f"case {case_id}: {event_type} cannot start a case")
        after = _reported(datum, ref)
        fresh: tuple[DeadlineRow, ...] = ()
    else:
        status = _status_after(row.status, event_type, datum, case_id)
        changes, fresh = _apply(row, deadlines, event_type, datum, ref)
        # One copy with everything the event changed: a row has 40 fields.
        after = with_changes(
            row, **changes, status=status, last_sequence=sequence, last_event_time=when
        )
    # A case's deadlines only ever change in place or grow at the end: compare by position.
    if fresh is deadlines:  # most events leave the deadlines alone
        changed: tuple[DeadlineRow, ...] = ()
    else:
        fresh, changed = _with_status(fresh, deadlines)
    return CaseStep(row, after, fresh, changed, _timeline(event_type, datum, after))


def _with_status(
    fresh: tuple[DeadlineRow, ...], deadlines: tuple[DeadlineRow, ...]
) -> tuple[tuple[DeadlineRow, ...], tuple[DeadlineRow, ...]]:
    """The deadlines with the status of each changed one brought up to date, and those."""
    out, changed = list(fresh), []
    for i, d in enumerate(fresh):
        if i < len(deadlines) and d is deadlines[i]:
            continue
        status = deadline_status(d)
        if d.status != status:
            d = out[i] = with_changes(d, status=status)
        changed.append(d)
    return tuple(out), tuple(changed)


def _status_after(status: str, event_type: str, datum: Datum, case_id: str) -> str:
    target = next_status(_STATUS[status], event_type, verdict(event_type, datum))
    if target is None:
        raise CorruptStream(f"case {case_id} is {status} and cannot take {event_type}")
    return str(target)


def _reported(datum: Datum, ref: ReferenceView) -> CaseRow:
    env = datum["envelope"]
    chain = ref.parent_chain(datum["grid_id"], local_date(env["event_time"]))  # by date: cheaper
    return built(  # CaseRow(...) at a third of the cost: one row per case reported
        CaseRow,
        case_id=datum["case_id"],
        status=Status.reported,
        category_code=datum["category_code"],
        priority=datum["priority"],
        channel=datum["channel"],
        title=datum["title"],
        grid_id=datum["grid_id"],
        village_code=chain.get("village"),
        street_code=chain.get("street"),
        district_code=chain.get("district"),
        reporter_id=env["actor"]["id"],
        reporter_role=env["actor"]["role"],
        visit_id=datum.get("visit_id"),
        reported_at=env["event_time"],
        last_sequence=env["sequence"],
        last_event_time=env["event_time"],
    )


def _apply(
    row: CaseRow,
    deadlines: tuple[DeadlineRow, ...],
    kind: str,
    d: Datum,
    ref: ReferenceView,
) -> tuple[dict[str, Any], tuple[DeadlineRow, ...]]:
    """The fields ``kind`` changes in the case's row (the caller makes one copy with all of
    them), and the case's deadlines after it."""
    when: datetime = d["envelope"]["event_time"]
    effect = CASE_MEANINGS[kind].deadline_effect
    if effect is DeadlineEffect.scheduled:
        clock_stopped = row.suspended_since is not None
        fresh = scheduled(
            row.case_id, row.department_code, row.district_code, clock_stopped, deadlines, d
        )
        return {}, fresh
    if effect is DeadlineEffect.signalled:
        return {}, apply_signal(row.case_id, deadlines, kind, d)
    if kind in LADDER_EVENT_TYPES:
        return _ladder_step(row, deadlines, kind, d)
    if effect is DeadlineEffect.cancelled_if_upheld:  # a hand-off ruling
        effect = DeadlineEffect.cancelled if d["upheld"] else DeadlineEffect.none
    if effect is DeadlineEffect.met or effect is DeadlineEffect.cancelled:
        deadlines = settled(deadlines, when, ref, cancel=effect is DeadlineEffect.cancelled)
    elif effect is DeadlineEffect.paused:
        deadlines = paused(deadlines)
    elif effect is DeadlineEffect.resumed:
        deadlines = resumed(deadlines)
    changes: dict[str, Any] = {}
    if kind == "CaseAccepted":
        changes = {
            "accepted_at": when,
            "category_code": d.get("category_code") or row.category_code,
            "priority": d.get("priority") or row.priority,
        }
    elif kind == "CaseRejected":
        changes = {"rejected_at": when}
    elif kind == "CaseDispatched":
        changes = {
            "department_code": d["department_code"],
            "dispatched_at": when,
            "first_dispatched_at": row.first_dispatched_at or when,
            "first_department_code": row.first_department_code or d["department_code"],
        }
    elif kind == "CaseClaimed":
        changes = {"claimed_at": when}
    elif kind == "CaseTransferred":
        changes = {
            "department_code": d["to_department"],
            "transfers": row.transfers + 1,
            "dispatched_at": when,
        }
    elif kind == "CaseReturned":
        changes = {"department_code": None, "returns": row.returns + 1}
    elif kind == "HandoffRequested":
        requests = row.handoff_requests + 1
        flagged = row.handoff_flagged_at
        if flagged is None and repeatedly_handed_off(requests):
            flagged = when
        changes = {
            "handoff_requests": requests,
            "handoff_pending_since": when,
            "handoff_flagged_at": flagged,
        }
    elif kind == "HandoffRuled":
        changes = {"handoff_pending_since": None}
        if d["upheld"]:
            changes |= {
                "handoffs_upheld": row.handoffs_upheld + 1,
                "department_code": d["department_code"],
                "dispatched_at": when,
            }
        else:
            changes["handoffs_refused"] = row.handoffs_refused + 1
    elif kind == "CaseExtended":
        changes = {
            "extensions": row.extensions + 1,
            "extended_hours": row.extended_hours + d["extra_working_hours"],
        }
    elif kind == "CaseSuspended":
        changes = {"suspended_since": when}
    elif kind == "CaseParked":
        changes = {
            "suspended_since": when,
            "parked_since": when,
            "review_date": d["review_date"],
            "park_reason": d["reason"],
            "parks": row.parks + 1,
        }
    elif kind in ("CaseResumed", "CaseUnparked"):
        stopped = (
            hours_between(row.case_id, deadlines, ref, row.suspended_since, when)
            if row.suspended_since
            else 0.0
        )
        changes = {"suspended_since": None, "suspended_hours": row.suspended_hours + stopped}
        if kind == "CaseUnparked":
            changes |= {
                "parked_since": None,
                "review_date": None,
                "park_reason": None,
                "parked_hours": row.parked_hours + stopped,
            }
    elif kind == "CaseEscalated":
        changes = {"escalation_level": d["to_level"], "escalations": row.escalations + 1}
    elif kind == "CaseResolved":
        changes = _resolved(row, deadlines, when, ref)
        changes["resolved_by"] = d["department_code"]
    elif kind == "CaseVerified":
        passed = bool(d["passed"])
        changes = {
            "verifications": row.verifications + 1,
            "verifications_passed": row.verifications_passed + passed,
            "verified_at": when if passed else row.verified_at,
            "reworks": row.reworks + (not passed),
        }
    elif kind == "CaseReopened":
        changes = {"reopens": row.reopens + 1, "reworks": row.reworks + 1}
    elif kind == "CaseClosed":
        changes = {"closed_at": when}
    elif kind == "CaseEvaluated":
        changes = {"satisfaction": d["satisfaction"], "evaluated_at": when}
    return changes, deadlines


def _resolved(
    row: CaseRow, deadlines: tuple[DeadlineRow, ...], when: datetime, ref: ReferenceView
) -> dict[str, Any]:
    start = row.first_dispatched_at or row.reported_at
    handling = max(
        0.0, hours_between(row.case_id, deadlines, ref, start, when) - row.suspended_hours
    )
    # By event time: a stage that ended after its due time, even one a transfer cancelled;
    # a breach signalled before a late post of an on-time step does not count.
    late = any(x.stage in ("claim", "handle") and x.breached_at is not None for x in deadlines)
    return {"resolved_at": when, "handling_hours": round(handling, 4), "on_time": not late}


def _ladder_step(
    row: CaseRow, deadlines: tuple[DeadlineRow, ...], kind: str, d: Datum
) -> tuple[dict[str, Any], tuple[DeadlineRow, ...]]:
    """A step up the supervision ladder: 催办 counted on the case and its deadline, 督办 and
    通报 on the case."""
    when: datetime = d["envelope"]["event_time"]
    if kind == "CaseSupervised":
        changes = {
            "supervision_level": d["level"],
            "supervised_at": when,
            "supervision_due": d["supervision_due_time"],
        }
        return changes, deadlines
    if kind == "CaseNoticed":
        return {"notices": row.notices + 1, "last_notice_period": d["period"]}, deadlines
    found = next((x for x in deadlines if x.deadline_id == d["deadline_id"]), None)
    if found is None:
        raise CorruptStream(f"case {row.case_id}: {kind} for unknown deadline {d['deadline_id']}")
    urged = with_changes(found, urges=d["urge_number"], last_urged_at=when)
    changes = {"urges": row.urges + 1, "last_urged_at": when}
    return changes, tuple(urged if x is found else x for x in deadlines)


def _timeline(kind: str, d: Datum, row: CaseRow) -> TimelineRow:
    env = d["envelope"]
    meaning = CASE_MEANINGS.get(kind)
    summary = meaning.summary(d) if meaning is not None else kind
    actor = env["actor"]
    return TimelineRow(
        row.case_id,
        env["sequence"],
        kind,
        env["event_id"],
        env["event_time"],
        env["recorded_time"],
        actor["id"],
        actor["role"],
        env["source_system"],
        summary[:500],
    )
