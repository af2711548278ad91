"""``decide_visit``: whether a VisitRecorded submission may join the canonical visit log.

A visit stands on its own (no lifecycle), so the checks are against the reference data at the
visit's event time: the grid in force, the worker assigned to it, the times and track coherent,
the items checked known categories, each finding named once.
"""

from __future__ import annotations

from domain.calendar import local_date
from domain.decisions import (
    Accepted,
    Decision,
    Duplicate,
    Rejected,
    recorded_before_event,
    stamp,
)
from domain.decisions import RejectionCode as Code
from domain.reference_view import ReferenceView
from events.models import Event, VisitRecorded

__all__ = ["decide_visit"]


def decide_visit(
    submission: Event,
    ref: ReferenceView,
    *,
    sequence: int | None = None,
    seen_sequence: int | None = None,
) -> Decision:
    """Accept or reject one visit submission.

    ``sequence``: the next sequence of the grid's visit stream, stamped on the accepted event
    (left unset when ``None``). ``seen_sequence``: the sequence the processor already holds for
    this event id, if any; then the answer is ``Duplicate``.
    """
    if seen_sequence is not None:
        return Duplicate(seen_sequence)
    if not isinstance(submission, VisitRecorded):
        return Rejected(
            Code.WRONG_STREAM,
            f"{submission.event_type} "
            f"{submission.envelope.event_id} is not a visit; submit it to the "
            f"{submission.stream} inbox",
        )
    refused = recorded_before_event(submission)
    if refused is not None:
        return refused
    visit = submission
    name = f"visit {visit.visit_id} of worker {visit.worker_id} in grid {visit.grid_id}"
    if visit.envelope.sequence is not None:
        return Rejected(
            Code.SEQUENCE_SET_BY_SUBMITTER,
            f"{name} carries sequence {visit.envelope.sequence}; submit with sequence null",
        )
    on = local_date(visit.envelope.event_time)
    if not ref.grid_effective(visit.grid_id, on):
        return Rejected(Code.GRID_NOT_EFFECTIVE, f"{name}: the grid is not in force on {on}")
    if not ref.worker_assigned(visit.worker_id, visit.grid_id, on):
        where = ref.worker_grid(visit.worker_id, on)
        now = f"assigned to grid {where}" if where else "not assigned to any grid"
        return Rejected(Code.WORKER_NOT_ASSIGNED, f"{name}: the worker is {now} on {on}")
    if visit.ended_at < visit.started_at:
        return Rejected(
            Code.VISIT_ENDS_BEFORE_START,
            f"{name} ends "
            f"{visit.ended_at.isoformat()}, before it starts "
            f"{visit.started_at.isoformat()}",
        )
    stray = [p.t for p in visit.track if not visit.started_at <= p.t <= visit.ended_at]
    if stray:
        return Rejected(
            Code.TRACK_OUTSIDE_VISIT,
            f"{name}: {len(stray)} track point(s) outside "
            f"the visit's time, first at {stray[0].isoformat()}",
        )
    unknown = sorted({item for item in visit.items_checked if ref.category(item, on) is None})
    if unknown:
        return Rejected(
            Code.UNKNOWN_CATEGORY,
            f"{name}: items checked {unknown} are not categories in force on {on}",
        )
    repeated = sorted({f for f in visit.findings if visit.findings.count(f) > 1})
    if repeated:
        return Rejected(
            Code.DUPLICATE_FINDING,
            f"{name}: findings {repeated} are listed more than once; list each case once",
        )
    return Accepted((visit if sequence is None else stamp(visit, sequence),))
