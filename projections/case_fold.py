"""The case read model as a pure fold: one canonical case event (as its Avro datum) applied
to the case's row and deadlines, giving the new row, its timeline entry and what changed.

The projector and replay both call ``fold_case``; nothing here reads a clock, a socket or
the environment, so a live projection and a replay of the same log cannot drift apart.
Working hours come from the calendar versions recorded on the case's deadlines, never from
"the calendar now", so a calendar published later does not change an old answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from events.models import LADDER_EVENT_TYPES
from processors.rules.calendar import WorkCalendar, local_date, working_hours_between
from processors.rules.case_state import CorruptStream, Status, next_status, verdict
from processors.rules.copies import built, with_changes
from processors.rules.errors import CalendarGap, UnknownReference
from processors.rules.handoff import repeatedly_handed_off
from processors.rules.reference_view import ReferenceView

__all__ = [
    "SETTLED_BY",
    "CaseRow",
    "CaseStep",
    "CorruptStream",
    "DeadlineRow",
    "TimelineRow",
    "WorkingTimeUnknown",
    "deadline_status",
    "fold_case",
]

Datum = Mapping[str, Any]

_STATUS = {str(s): s for s in Status}  # a lookup: cheaper than ``Status(value)`` per event
_DONE_BY = {"CaseClaimed", "CaseResolved", "CaseVerified"}  # the stage's work is done
_CANCELLED_BY = {"CaseTransferred", "CaseReturned", "CaseReopened"}  # the stage restarts
SETTLED_BY = frozenset(_DONE_BY | _CANCELLED_BY | {"HandoffRuled"})
"""The events that end the open deadline's stage (and settle whether it was breached); a
hand-off ruling only when it upholds the request (it re-dispatches the case)."""


@dataclass(frozen=True)
class DeadlineRow:
    """One stage deadline as the read model shows it."""

    deadline_id: str
    case_id: str
    stage: str
    started_at: datetime
    due_time: datetime
    working_hours: int
    policy_id: str
    policy_version: int
    calendar_version: str
    department_code: str | None
    district_code: str | None
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    done_at: datetime | None = None
    cancelled: bool = False
    paused: bool = False
    lateness_hours: float | None = None  # working hours after the due time; < 0: time to spare
    urges: int = 0  # 催办 of this deadline (numbered per due time: the latest number)
    last_urged_at: datetime | None = None
    # open, warned, breached, paused, met or cancelled (``deadline_status`` of the fields
    # above), kept by ``fold_case`` whenever the deadline changes: a column to filter on
    status: str = "open"


def deadline_status(d: DeadlineRow) -> str:
    """open, warned, breached, paused, met or cancelled (DESIGN.md's SLA states); breached
    once its stage ended after the due time, or the trigger signalled it while it runs."""
    if d.cancelled:
        return "cancelled"
    if d.done_at is not None:
        return "met" if d.done_at <= d.due_time else "breached"
    if d.paused:
        return "paused"
    if d.breached_at is not None:
        return "breached"
    return "warned" if d.warned_at is not None else "open"


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


def _calendar(deadlines: tuple[DeadlineRow, ...], ref: ReferenceView) -> WorkCalendar:
    """The calendar versions the case's deadlines recorded, other years as first published."""
    return ref.calendar_recorded(d.calendar_version for d in deadlines)


class WorkingTimeUnknown(CorruptStream):
    """A case's working hours cannot be counted: the calendar its deadlines recorded is not
    in the reference log, or no published year reaches the event. The record is dead-lettered
    with this reason; wall-clock hours would be a different, silently wrong number."""


def _hours(
    case_id: str, deadlines: tuple[DeadlineRow, ...], ref: ReferenceView, a: datetime, b: datetime
) -> float:
    try:
        return working_hours_between(_calendar(deadlines, ref), a, b)
    except (CalendarGap, UnknownReference) as exc:
        raise WorkingTimeUnknown(
            f"case {case_id}: the working hours from {a.isoformat()} to {b.isoformat()} "
            f"cannot be counted: {exc}"
        ) from exc


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
    if kind.startswith("Deadline"):
        return {}, _deadline_event(row, deadlines, kind, d)
    if kind in LADDER_EVENT_TYPES:
        return _ladder_step(row, deadlines, kind, d)
    if kind in _DONE_BY:
        deadlines = _settle(deadlines, when, ref, cancel=False)
    elif kind in _CANCELLED_BY:
        deadlines = _settle(deadlines, when, ref, cancel=True)
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
            deadlines = _settle(deadlines, when, ref, cancel=True)
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
        deadlines = tuple(with_changes(x, paused=_is_open(x)) for x in deadlines)
    elif kind == "CaseParked":
        changes = {
            "suspended_since": when,
            "parked_since": when,
            "review_date": d["review_date"],
            "park_reason": d["reason"],
            "parks": row.parks + 1,
        }
        deadlines = tuple(with_changes(x, paused=_is_open(x)) for x in deadlines)
    elif kind in ("CaseResumed", "CaseUnparked"):
        paused = (
            _hours(row.case_id, deadlines, ref, row.suspended_since, when)
            if row.suspended_since
            else 0.0
        )
        changes = {"suspended_since": None, "suspended_hours": row.suspended_hours + paused}
        if kind == "CaseUnparked":
            changes |= {
                "parked_since": None,
                "review_date": None,
                "park_reason": None,
                "parked_hours": row.parked_hours + paused,
            }
        deadlines = tuple(with_changes(x, paused=False) for x in deadlines)
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
    handling = max(0.0, _hours(row.case_id, deadlines, ref, start, when) - row.suspended_hours)
    # By event time: a stage that ended after its due time, even one a transfer cancelled;
    # a breach signalled before a late post of an on-time step does not count.
    late = any(x.stage in ("claim", "handle") and x.breached_at is not None for x in deadlines)
    return {"resolved_at": when, "handling_hours": round(handling, 4), "on_time": not late}


def _is_open(d: DeadlineRow) -> bool:
    return d.done_at is None and not d.cancelled


def _settle(
    deadlines: tuple[DeadlineRow, ...], when: datetime, ref: ReferenceView, *, cancel: bool
) -> tuple[DeadlineRow, ...]:
    out = []
    for d in deadlines:
        if _is_open(d):
            # Breached or not is settled by event time when the stage ends, whatever the
            # trigger signalled (late, or never, as in a backfill with the trigger off).
            breached = d.due_time if when > d.due_time else None
            if cancel:
                d = with_changes(d, cancelled=True, paused=False, breached_at=breached)
            else:
                late = (
                    _hours(d.case_id, (d,), ref, d.due_time, when)
                    if when > d.due_time
                    else (-_hours(d.case_id, (d,), ref, when, d.due_time))
                )
                d = with_changes(
                    d,
                    done_at=when,
                    paused=False,
                    breached_at=breached,
                    lateness_hours=round(late, 4),
                )
        out.append(d)
    return tuple(out)


def _deadline_event(
    row: CaseRow, deadlines: tuple[DeadlineRow, ...], kind: str, d: Datum
) -> tuple[DeadlineRow, ...]:
    when: datetime = d["envelope"]["event_time"]
    found = next((x for x in deadlines if x.deadline_id == d["deadline_id"]), None)
    if kind == "DeadlineScheduled":
        fields = {
            "stage": d["stage"],
            "started_at": d["started_at"],
            "due_time": d["due_time"],
            "working_hours": d["working_hours"],
            "policy_id": d["policy_id"],
            "policy_version": d["policy_version"],
            "calendar_version": d["calendar_version"],
        }
        if found is None:
            fresh = built(  # DeadlineRow(...), cheaper: one per deadline scheduled
                DeadlineRow,
                deadline_id=d["deadline_id"],
                case_id=row.case_id,
                department_code=row.department_code,
                district_code=row.district_code,
                paused=row.suspended_since is not None,
                **fields,
            )
            return (*deadlines, fresh)
        # Moved by an extension or a pause: kept in its place, so the order stays the order of
        # scheduling, which is also the order a restarted projector loads them in.
        moved = with_changes(found, **fields)
        if d["due_time"] > found.due_time:  # moved later: the old due time's flags are void
            moved = with_changes(moved, warned_at=None, breached_at=None)
        return tuple(moved if x is found else x for x in deadlines)
    if found is None:
        raise CorruptStream(f"case {row.case_id}: {kind} for unknown deadline {d['deadline_id']}")
    # A breach happened at the due time it names, however late the trigger noticed it.
    flagged = (
        with_changes(found, warned_at=found.warned_at or when)
        if kind == "DeadlineWarned"
        else with_changes(found, breached_at=found.breached_at or d["due_time"])
    )
    return tuple(flagged if x is found else x for x in deadlines)


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


_SUMMARIES: dict[str, Callable[[Datum], str]] = {
    "CaseReported": lambda d: f"reported via {d['channel']}: {d['title']}",
    "CaseAccepted": lambda d: (
        "accepted" + (f" as {d['category_code']}" if d.get("category_code") else "")
    ),
    "CaseRejected": lambda d: f"rejected ({d['reason']}): {d['comment']}",
    "CaseDispatched": lambda d: f"dispatched to {d['department_code']}",
    "CaseClaimed": lambda d: f"claimed by {d['department_code']}",
    "CaseTransferred": lambda d: (
        f"transferred {d['from_department']} → {d['to_department']}: {d['reason']}"
    ),
    "CaseReturned": lambda d: f"returned by {d['department_code']}: {d['reason']}",
    "CaseExtended": lambda d: f"{d['stage']} extended by {d['extra_working_hours']} working hours",
    "CaseSuspended": lambda d: f"suspended: {d['reason']}",
    "CaseResumed": lambda d: "resumed",
    "CaseParked": lambda d: f"parked (挂账) until review on {d['review_date']}: {d['reason']}",
    "CaseUnparked": lambda d: "off the backlog" + (f": {d['comment']}" if d.get("comment") else ""),
    "HandoffRequested": lambda d: (
        f"hand-off (推诿) asked by {d['department_code']}"
        + (f", says {d['suggested_department']} owns it" if d.get("suggested_department") else "")
        + f": {d['reason']}"
    ),
    "HandoffRuled": lambda d: (
        (
            f"hand-off upheld: re-dispatched to {d['department_code']}"
            if d["upheld"]
            else "hand-off refused: the case stays"
        )
        + (f" ({d['comment']})" if d.get("comment") else "")
    ),
    "CaseEscalated": lambda d: f"escalated {d['from_level']} → {d['to_level']}: {d['reason']}",
    "CaseResolved": lambda d: f"resolved by {d['department_code']}: {d['resolution']}",
    "CaseVerified": lambda d: (
        ("verified on site" if d["passed"] else "failed verification") + f" by {d['worker_id']}"
    ),
    "CaseReopened": lambda d: f"reopened ({d['reason']})",
    "CaseClosed": lambda d: "closed",
    "CaseEvaluated": lambda d: f"evaluated {d['satisfaction']}/5",
    "DeadlineScheduled": lambda d: (  # str(t)[:16] is t's %Y-%m-%d %H:%M, at half the cost
        f"{d['stage']} due {str(d['due_time'])[:16]} UTC "
        f"({d['working_hours']} working hours, policy {d['policy_id']} v{d['policy_version']})"
    ),
    "DeadlineWarned": lambda d: f"{d['stage']} deadline warning",
    "DeadlineBreached": lambda d: f"{d['stage']} deadline breached",
    "CaseUrged": lambda d: f"{d['stage']} overdue: urged (催办) #{d['urge_number']}",
    "CaseSupervised": lambda d: (
        f"{d['stage']} overdue: supervised (督办) by the {d['level']}, "
        f"due {str(d['supervision_due_time'])[:16]} UTC"
    ),
    "CaseNoticed": lambda d: f"{d['stage']} overdue: in the notice (通报) of {d['period']}",
}


def _timeline(kind: str, d: Datum, row: CaseRow) -> TimelineRow:
    env = d["envelope"]
    summarize = _SUMMARIES.get(kind)
    summary = summarize(d) if summarize is not None else kind
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
