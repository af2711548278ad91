"""The JSON twin of a case's page: ``GET /api/v1/cases/{case_id}``, its header, its full trace,
its deadlines and the submissions to it that were refused, from the same panel functions."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from events.problems import problem_responses
from projections.dashboard.deps_case import CaseInPath
from projections.dashboard.shapes import Freshness, freshness_of
from projections.panels import case
from projections.reading import Answer

__all__ = ["CaseOut", "router"]

router = APIRouter(prefix="/api/v1", responses=problem_responses(403, 404, 422, 503))


class CaseHeader(BaseModel):
    """The case: what, where (names as in ``units``), who holds it, and when each stage was."""

    case_id: str
    title: str
    category_code: str
    priority: str
    channel: str
    status: str
    grid_id: str
    grid_name: str | None
    village_code: str | None
    village_name: str | None
    street_code: str | None
    street_name: str | None
    district_code: str | None
    district_name: str | None
    department_code: str | None
    department_name: str | None
    escalation_level: str
    reporter_id: str
    reporter_role: str
    visit_id: str | None
    reported_at: datetime
    accepted_at: datetime | None
    rejected_at: datetime | None
    first_dispatched_at: datetime | None
    dispatched_at: datetime | None
    claimed_at: datetime | None
    resolved_at: datetime | None
    verified_at: datetime | None
    closed_at: datetime | None
    evaluated_at: datetime | None
    transfers: int
    returns: int
    handoff_requests: int = Field(description="推诿: hand-off requests made on it")
    handoffs_upheld: int
    handoffs_refused: int
    handoff_pending_since: datetime | None = Field(description="a request awaits the ruling since")
    handoff_flagged_at: datetime | None = Field(description="flagged as handed off repeatedly")
    reworks: int
    reopens: int
    extensions: int
    extended_hours: int
    escalations: int
    suspended_since: datetime | None
    suspended_hours: float
    handling_hours: float | None = Field(description="first dispatch to resolution, working hours")
    on_time: bool | None
    satisfaction: int | None
    last_sequence: int
    departments: list[str] = Field(description="departments that held one of its deadlines")


class TraceStep(BaseModel):
    """One step of the full trace (全程留痕)."""

    sequence: int
    event_type: str
    event_id: str
    event_time: datetime = Field(description="when it happened")
    recorded_time: datetime = Field(description="when the platform learned of it")
    late: bool = Field(description="recorded over an hour after it happened (补录)")
    actor_id: str
    actor_role: str
    source_system: str
    summary: str


class CaseDeadline(BaseModel):
    """One SLA deadline and the versions it was computed with."""

    deadline_id: str
    stage: str
    started_at: datetime
    due_time: datetime
    working_hours: int
    status: str = Field(description="open, warned, breached, paused, met or cancelled")
    lateness_hours: float | None = Field(description="working hours past due; < 0: to spare")
    policy_id: str
    policy_version: int
    calendar_version: str
    department_code: str | None
    warned_at: datetime | None
    breached_at: datetime | None
    done_at: datetime | None


class Refusal(BaseModel):
    """A submission to the case that the workflow refused."""

    event_id: str = Field(description="the refusal's own id")
    submission_event_id: str
    event_type: str = Field(description="the refused submission's event type")
    code: str
    message: str
    source_system: str = Field(description="the system that submitted it")
    event_time: datetime
    recorded_time: datetime


class CaseOut(BaseModel):
    """A case's page as data."""

    case_id: str
    freshness: Freshness = Field(description="the earliest of the four parts' freshness")
    header: CaseHeader
    trace: list[TraceStep]
    deadlines: list[CaseDeadline]
    rejections: list[Refusal]


@router.get("/cases/{case_id}", summary="one case: header, full trace, deadlines, refusals")
def case_file(c: CaseInPath) -> CaseOut:
    # One snapshot for the four parts: one connection checkout, one transaction, and one
    # state of the read models on the page (four reads had each waited for the interpreter
    # again between round trips, slowest when memo hits kept the other threads busy).
    parts = case.case_file(c.conn, c.projection, c.scope, c.case_id)
    head, steps, due, refused = (
        parts[name] for name in ("header", "trace", "deadlines", "rejections")
    )
    fresh = Answer([], case.earliest(head, steps, due, refused), head.schema)
    return CaseOut(
        case_id=c.case_id,
        freshness=freshness_of(fresh, c.position),
        header=CaseHeader.model_validate(head.rows[0]),
        trace=[TraceStep.model_validate(r) for r in steps.rows],
        deadlines=[CaseDeadline.model_validate(r) for r in due.rows],
        rejections=[Refusal.model_validate(r) for r in refused.rows],
    )
