"""Visit events (stream ``visit``, namespace ``fengqiao.visit``), keyed by ``grid_id``.

A visit (走访) drives the worker KPIs: households visited, discovery rate, grid coverage.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, Strict, StringConstraints

from events.models.envelope import NO_NUL, Event, Id, TrackPoint, UtcDatetime, not_before

__all__ = ["VISIT_EVENTS", "VisitRecorded"]


class VisitRecorded(Event):
    stream: ClassVar[Literal["case", "visit", "reference"]] = "visit"
    key_field: ClassVar[str] = "grid_id"

    visit_id: Id
    grid_id: Id
    worker_id: Id
    started_at: UtcDatetime
    ended_at: UtcDatetime
    households_visited: Annotated[int, Strict(), Field(ge=0, le=100_000)]
    items_checked: tuple[Id, ...]
    findings: tuple[Id, ...]
    track: tuple[TrackPoint, ...]
    notes: Annotated[str, Strict(), StringConstraints(max_length=5000, pattern=NO_NUL)] | None = (
        None
    )

    _ends_after_start = not_before("ended_at", "started_at")


VISIT_EVENTS: tuple[type[Event], ...] = (VisitRecorded,)
