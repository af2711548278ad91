"""The rows of the read models the batch fold appends: resolutions, notices, case locations,
visits and their tracks. Their fields are their tables' columns (``tables``), so a field added
here is a column added there; the fold (``batch``) fills them and the store writes them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple

__all__ = ["CaseLocationRow", "NoticeRow", "ResolutionRow", "VisitRow", "VisitTrackRow"]


class ResolutionRow(NamedTuple):
    """One resolution (办结) of a case: the facts behind handling-time percentiles."""

    case_id: str
    sequence: int
    day: date
    district_code: str | None
    street_code: str | None
    village_code: str | None
    grid_id: str
    department_code: str
    handling_hours: float
    on_time: bool


class NoticeRow(NamedTuple):
    """One case listed in a month's public notice (通报), where it stood at the month's close:
    the notice of a month is these rows counted per unit."""

    period: str
    case_id: str
    deadline_id: str
    stage: str
    noticed_at: datetime
    due_time: datetime
    department_code: str | None
    district_code: str | None
    street_code: str | None
    village_code: str | None
    grid_id: str
    supervision_level: str | None
    urges: int


class CaseLocationRow(NamedTuple):
    """Where a case's problem is, as reported (WGS-84): the points of the map; with when and
    in which places it was reported (a case's, fixed at its report), so that a street's
    points of a period are read by place and time, not looked up case by case."""

    case_id: str
    lon: float
    lat: float
    reported_at: datetime
    district_code: str | None
    street_code: str | None
    village_code: str | None
    grid_id: str


class VisitRow(NamedTuple):
    """One visit (走访) with the grid's parents at the time it happened."""

    visit_id: str
    grid_id: str
    sequence: int
    village_code: str | None
    street_code: str | None
    district_code: str | None
    worker_id: str
    started_at: datetime
    ended_at: datetime
    day: date
    households: int
    items_checked: int
    findings: int
    track_points: int


class VisitTrackRow(NamedTuple):
    """One visit's track (走访轨迹) and what it found: the points ``[lon, lat, ISO time]`` in
    the order recorded, the items checked, and the cases reported on the visit."""

    visit_id: str
    worker_id: str
    day: date
    grid_id: str
    points: list[list[Any]]
    items_checked: list[str]
    finding_case_ids: list[str]
