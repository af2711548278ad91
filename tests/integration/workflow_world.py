"""What the workflow tests submit: one case's whole loop in the tiny city, and a burst.

``lifecycle`` is a case's eight submissions from report to evaluation (``env`` makes their
envelopes, from ``T0`` on, dispatched to ``DEPARTMENT``); ``case_log`` picks one case's records
out of a run's outputs. ``burst`` is the crash tests' 20,000 mixed submissions with a few
illegal ones among them, and ``encode`` turns events into the bytes a run produces, so that
two runs can be sent the very same records.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from events.codec import AvroCodec
from events.models import (
    Actor,
    ActorRole,
    CaseAccepted,
    CaseClaimed,
    CaseClosed,
    CaseDispatched,
    CaseEvaluated,
    CaseEvent,
    CaseReported,
    CaseResolved,
    CaseVerified,
    Channel,
    Envelope,
    Event,
    Priority,
    VisitRecorded,
)
from events.topics import CASE_EVENTS, INBOX
from simulate.activity import day_events
from simulate.city import City
from tests.integration.workflow_helpers import Record, city

T0 = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)  # Monday 09:30 in Shanghai
CATEGORY, DEPARTMENT = "appearance", "law-enforcement"


def env(at: datetime, role: ActorRole, actor: str, source: str) -> Envelope:
    return Envelope(
        event_id=str(uuid.uuid4()),
        event_time=at,
        recorded_time=at,
        source_system=source,
        actor=Actor(id=actor, role=role),
    )


def lifecycle(case_id: str, start: datetime = T0) -> list[CaseEvent]:
    """report → accept → dispatch → claim → resolve → verify → close → evaluate."""
    town, _ = city()
    grid = town.grids[0]
    worker = town.workers[grid][0]
    centre = (ActorRole.command_centre, "command-centre", "centre.street")
    dept = (ActorRole.department, f"{DEPARTMENT}-desk", f"dept.{DEPARTMENT}")
    at = [start + timedelta(hours=h) for h in (0, 0.5, 1, 2, 6, 8, 8.5, 20)]
    return [
        CaseReported(
            envelope=env(at[0], ActorRole.grid_worker, worker, "gridapp"),
            case_id=case_id,
            grid_id=grid,
            category_code=CATEGORY,
            priority=Priority.normal,
            title="占道经营",
            description="小区门口流动摊贩占道经营。",
            channel=Channel.grid_visit,
        ),
        CaseAccepted(envelope=env(at[1], *centre), case_id=case_id),
        CaseDispatched(envelope=env(at[2], *centre), case_id=case_id, department_code=DEPARTMENT),
        CaseClaimed(envelope=env(at[3], *dept), case_id=case_id, department_code=DEPARTMENT),
        CaseResolved(
            envelope=env(at[4], *dept),
            case_id=case_id,
            department_code=DEPARTMENT,
            resolution="已清理",
        ),
        CaseVerified(
            envelope=env(at[5], ActorRole.grid_worker, worker, "gridapp"),
            case_id=case_id,
            passed=True,
            worker_id=worker,
        ),
        CaseClosed(envelope=env(at[6], *centre), case_id=case_id),
        CaseEvaluated(
            envelope=env(at[7], ActorRole.resident, "resident", "residentapp"),
            case_id=case_id,
            satisfaction=5,
        ),
    ]


def case_log(records: list[Record], case_id: str) -> list[Record]:
    """The records of ``case_id`` on the case log, in the order of ``records``."""
    return [
        r
        for r in records
        if r.topic == CASE_EVENTS and isinstance(r.event, CaseEvent) and r.event.case_id == case_id
    ]


BURST = 20_000
ILLEGAL = 40
Encoded = tuple[str, bytes, bytes]  # inbox, key, value


def burst(town: City) -> list[Event]:
    """Realistic mixed case lifecycles and visits, with a few illegal submissions among them."""
    rng = random.Random(5)
    events: list[Event] = []
    day = date(2025, 3, 3)
    while len(events) < BURST:
        events += day_events(town, day, rng, visits_per_worker=1.0, discovery_rate=0.3)
        day += timedelta(days=1)
    events = events[: BURST - 2 * ILLEGAL]
    reports = [e for e in events if isinstance(e, CaseReported)][:ILLEGAL]
    visits = [e for e in events if isinstance(e, VisitRecorded)][:ILLEGAL]
    for n, report in enumerate(reports):  # resolved before anything else: INVALID_TRANSITION
        env = Envelope.model_validate(
            {**report.envelope.model_dump(), "event_id": f"illegal-resolve-{n}"}
        )
        at = events.index(report) + 1
        resolve = CaseResolved(
            envelope=env, case_id=report.case_id, department_code="housing", resolution="提前办结"
        )
        events.insert(at, resolve)
    for n, visit in enumerate(visits):  # a worker who is not on that grid: WORKER_NOT_ASSIGNED
        env = Envelope.model_validate(
            {**visit.envelope.model_dump(), "event_id": f"illegal-visit-{n}"}
        )
        events.append(visit.model_copy(update={"envelope": env, "worker_id": "w-nobody"}))
    assert len(events) == BURST
    return events


def encode(codec: AvroCodec, events: list[Event]) -> list[Encoded]:
    """Each event as its inbox, key and Avro value: the bytes a run's ``produce`` sends."""
    return [(INBOX[e.stream], e.key().encode(), codec.encode(INBOX[e.stream], e)) for e in events]


__all__ = [
    "BURST",
    "CATEGORY",
    "DEPARTMENT",
    "ILLEGAL",
    "T0",
    "Encoded",
    "burst",
    "case_log",
    "encode",
    "env",
    "lifecycle",
]
