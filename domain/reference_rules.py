"""``decide_reference``: whether a reference-data definition may join the reference log.

Definitions must fit the view they are applied to: a place's parent in force on its date and
one level up, a retirement after the definition, an assignment to a grid in force, a
category's department and policy known, policy versions increasing and complete, calendar and
lexicon versions new, a system's departments and districts defined; none back-dated over a
version that already decided events.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

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
from domain.meanings import RECORD_MEANINGS
from domain.reference_view import ReferenceView
from events.models import (
    CategoryDefined,
    Event,
    LexiconPublished,
    PlaceDefined,
    PlaceRetired,
    WorkerAssigned,
)

__all__ = ["decide_reference"]


def _in_force_before(view: ReferenceView, event: Any, first: date, last: date) -> bool:
    """Whether a version that ``event`` would replace answered for some day of
    [``first``, ``last``]: then events of those days were decided under it."""
    if isinstance(event, PlaceDefined | PlaceRetired):
        return any(p.effective_from <= last for p in view.place_history(event.code))
    if isinstance(event, WorkerAssigned):
        return any(view.worker_grid(event.worker_id, day) for day in (first, last))
    if isinstance(event, CategoryDefined):
        return any(view.category(event.code, day) for day in (first, last))
    if isinstance(event, LexiconPublished):
        return view.lexicon(last) is not None  # lexicons only ever follow one another
    return False


def _backdated(view: ReferenceView, event: Event) -> Rejected | None:
    """A definition effective from before the day it is recorded on, over a version that was
    in force on those days, would make a replay file those days' events otherwise than the
    live run did: refused. SLA policies and calendars are exempt, as every deadline records
    the versions it was computed with."""
    effective: date | None = getattr(event, "effective_from", None)
    recorded = local_date(event.envelope.recorded_time)
    if effective is None or effective >= recorded:
        return None
    if not _in_force_before(view, event, effective, recorded - timedelta(days=1)):
        return None
    return Rejected(
        Code.BACKDATED_REFERENCE,
        f"{event.event_type} {event.envelope.event_id} is effective from {effective}, but "
        f"events up to {recorded} (when it was recorded) were already decided under the "
        f"version before; make it effective from {recorded} or later",
    )


def decide_reference(view: ReferenceView, submission: Event) -> Decision:
    """Accept (stamped with the next reference sequence), reject, or recognise a duplicate."""
    env = submission.envelope
    seen = view.sequence_of(env.event_id)
    if seen is not None:
        return Duplicate(seen)
    if submission.stream != "reference":
        return Rejected(
            Code.WRONG_STREAM,
            f"{submission.event_type} {env.event_id} is not "
            f"reference data; submit it to the {submission.stream} inbox",
        )
    if env.sequence is not None:
        return Rejected(
            Code.SEQUENCE_SET_BY_SUBMITTER,
            f"{submission.event_type} "
            f"{env.event_id} carries sequence {env.sequence}; submit it unset",
        )
    meaning = RECORD_MEANINGS.get(submission.event_type)
    check = meaning.rule if meaning is not None and callable(meaning.rule) else None
    rejected = (
        recorded_before_event(submission)
        or _backdated(view, submission)
        or (check(view, submission) if check else None)
    )
    return rejected or Accepted((stamp(submission, view.sequence + 1),))
