"""超期 over JSON (``/api/v1/overdue/...``): the deadlines late now, those about to expire, and
how late finished ones were, from the same panel queries as the page."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from domain.calendar import WorkCalendar, calendar_from_definitions
from events.problems import problem_responses
from processors.data import shipped_calendar_definitions
from projections.dashboard.api import out
from projections.dashboard.deps import Panel
from projections.dashboard.paging import Limit, Offset
from projections.dashboard.shapes import PanelOut
from projections.panels import overdue
from projections.panels.lateness import BUCKETS
from projections.panels.paging import page_of
from projections.panels.scope import child_level

__all__ = ["By", "Hours", "grouping", "router", "work_calendar"]

router = APIRouter(prefix="/api/v1/overdue", responses=problem_responses(403, 404, 422, 503))

Hours = Annotated[
    float,
    Query(gt=0, le=720, description="about to expire: due within this many hours from now"),
]
By = Annotated[
    Literal["children", "department"] | None,
    Query(
        description="group by the unit's child units or by department; by default its "
        "child units, or departments for a unit without any"
    ),
]


@cache
def work_calendar() -> WorkCalendar:
    """The working calendar lateness is counted on: the years Fengqiao ships (a year published
    later by a CalendarDefined event is not in it, and its deadlines show no working hours)."""
    return calendar_from_definitions(shipped_calendar_definitions())


def grouping(p: Panel, by: Literal["children", "department"] | None) -> overdue.Grouping:
    if by is not None:
        return by
    return "children" if child_level(p.unit.level) else "department"


class DeadlineRow(BaseModel):
    deadline_id: str
    case_id: str
    title: str
    department_code: str | None
    department_name: str | None
    stage: str
    stage_zh: str
    due_time: datetime
    working_hours: int = Field(description="the deadline's allowance in working hours")
    calendar_version: str
    escalation_level: str
    escalation_zh: str
    status: str
    urges: int = Field(description="催办: urges of this deadline for its due time")
    supervision_level: str | None = Field(description="督办: street or district, if supervised")
    supervision_due: datetime | None = Field(description="the supervision deadline")
    notices: int = Field(description="通报: month-close notices the case was listed in")
    ladder_zh: str = Field(description="the case's step on the supervision ladder, in Chinese")


class OverdueRow(DeadlineRow):
    breached_at: datetime
    late_hours: float | None = Field(
        description="working hours past due on the deadline's calendar; none when that "
        "calendar is not known here"
    )


class ExpiringRow(DeadlineRow):
    hours_left: float = Field(description="wall-clock hours until due")


class SpreadRow(BaseModel):
    code: str
    name: str
    counts: list[int] = Field(description="deadlines met late in the period, per bucket")
    late: int
    open_overdue: int = Field(description="deadlines breached and still running now")


@router.get("/list", summary="超期: deadlines breached and still running, the latest first")
def overdue_list(p: Panel, limit: Limit = 50, offset: Offset = 0) -> PanelOut[OverdueRow]:
    now = datetime.now(UTC)
    found = overdue.overdue(
        p.conn, p.projection, p.scope, p.unit, now, work_calendar(), limit, offset
    )
    return out("overdue", p, found, {"now": now.isoformat(), **page_of(found, limit, offset)})


@router.get("/expiring", summary="临期: deadlines due within the next hours")
def expiring(
    p: Panel, hours: Hours = 24, limit: Limit = 50, offset: Offset = 0
) -> PanelOut[ExpiringRow]:
    now = datetime.now(UTC)
    found = overdue.expiring(p.conn, p.projection, p.scope, p.unit, now, hours, limit, offset)
    extra = {"now": now.isoformat(), "hours": hours, **page_of(found, limit, offset)}
    return out("expiring", p, found, extra)


@router.get(
    "/distribution",
    summary="超期分布: deadlines met late in the period per working-hour bucket, per unit",
)
def distribution(p: Panel, by: By = None) -> PanelOut[SpreadRow]:
    group = grouping(p, by)
    found = p.remember(
        "distribution",
        lambda: overdue.distribution(p.conn, p.projection, p.scope, p.unit, p.period, group),
        group,
    )
    return out("distribution", p, found, {"by": group, "buckets": list(BUCKETS)})
