"""A simulated day of grid governance: visits with tracks, and case lifecycles.

Most cases run the plain loop (report → accept → dispatch → claim → resolve → verify →
close → evaluate) on time; a seeded share are rejected, transferred, returned, extended,
suspended, escalated, fail verification and are reworked, and departments post some steps
late (recorded hours after they happened). Times are Asia/Shanghai working hours.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from events.models import (
    ActorRole,
    CaseAccepted,
    CaseClaimed,
    CaseClosed,
    CaseDispatched,
    CaseEscalated,
    CaseEvaluated,
    CaseExtended,
    CaseRejected,
    CaseReported,
    CaseResolved,
    CaseResumed,
    CaseReturned,
    CaseSuspended,
    CaseTransferred,
    CaseVerified,
    Channel,
    EscalationLevel,
    Event,
    GeoPoint,
    Priority,
    RejectionReason,
    Stage,
    TrackPoint,
    VisitRecorded,
)
from simulate.catalogue import CATEGORIES, DEPARTMENTS, DETAILS, PLACES
from simulate.city import City
from simulate.ids import envelope

SHANGHAI = ZoneInfo("Asia/Shanghai")
BASE_LAT, BASE_LON = 29.95, 121.62  # Ningbo


def _at(day: date, hour: float) -> datetime:
    local = datetime.combine(day, time(0), SHANGHAI) + timedelta(hours=hour)
    return local.astimezone(UTC)


def _point(rng: random.Random) -> tuple[float, float]:
    return BASE_LAT + rng.uniform(-0.4, 0.4), BASE_LON + rng.uniform(-0.4, 0.4)


def visit(city: City, grid: str, worker: str, day: date, rng: random.Random,
          findings: tuple[str, ...]) -> VisitRecorded:
    start = _at(day, rng.uniform(8.5, 15.5))
    minutes = rng.randint(20, 120)
    lat, lon = _point(rng)
    track = tuple(
        TrackPoint(t=start + timedelta(minutes=minutes * i / 5),
                   lat=lat + rng.uniform(-0.002, 0.002), lon=lon + rng.uniform(-0.002, 0.002))
        for i in range(6)
    )
    items = tuple(sorted({c[0] for c in rng.sample(CATEGORIES, rng.randint(2, 6))}))
    end = start + timedelta(minutes=minutes)
    return VisitRecorded(
        envelope=envelope(rng, end, "gridapp", worker, ActorRole.grid_worker,
                          recorded_time=end + timedelta(minutes=rng.randint(0, 30))),
        visit_id=f"v-{rng.getrandbits(48):012x}", grid_id=grid, worker_id=worker,
        started_at=start, ended_at=end, households_visited=rng.randint(3, 40),
        items_checked=items, findings=findings, track=track,
        notes=rng.choice([None, "走访正常", "住户不在家，已留联系卡"]),
    )


def _text(rng: random.Random, titles: tuple[str, ...]) -> tuple[str, str]:
    title = rng.choice(titles)
    return title, f"{rng.choice(PLACES)}{title}，{rng.choice(DETAILS)}，{rng.choice(DETAILS)}。"


def case_lifecycle(case_id: str, grid: str, worker: str, reported_at: datetime,
                   rng: random.Random, visit_id: str | None) -> list[Event]:
    """One case from report to evaluation, with the seeded detours of real cases."""
    code, _, dept, urgent_share, titles = rng.choice(CATEGORIES)
    priority = Priority.urgent if rng.random() < urgent_share else Priority.normal
    title, description = _text(rng, titles)
    t = reported_at
    events: list[Event] = []

    def env(role: ActorRole, actor: str, source: str, late_h: float = 0.0) -> object:
        return envelope(rng, t, source, actor, role, recorded_time=t + timedelta(hours=late_h),
                        correlation_id=case_id)

    def later(lo_h: float, hi_h: float) -> None:
        nonlocal t
        t += timedelta(hours=rng.uniform(lo_h, hi_h))

    def dept_env(d: str) -> object:  # departments post late now and then
        return env(ActorRole.department, f"{d}-desk", f"dept.{d}",
                   rng.choice([0.0] * 8 + [rng.uniform(2, 30)]))

    centre = ("command-centre", "centre.street")
    events.append(CaseReported(
        envelope=env(ActorRole.grid_worker, worker, "gridapp"), case_id=case_id, grid_id=grid,
        category_code=code, priority=priority, title=title, description=description,
        location=GeoPoint(lat=_point(rng)[0], lon=_point(rng)[1]), channel=Channel.grid_visit,
        visit_id=visit_id, attachments_count=rng.randint(0, 4)))
    later(0.2, 2)
    if rng.random() < 0.04:
        events.append(CaseRejected(envelope=env(ActorRole.command_centre, *centre),
                                   case_id=case_id, reason=RejectionReason.out_of_scope,
                                   comment="不属于网格事项"))
        return events
    events.append(CaseAccepted(envelope=env(ActorRole.command_centre, *centre), case_id=case_id))
    later(0.1, 1)
    events.append(CaseDispatched(envelope=env(ActorRole.command_centre, *centre),
                                 case_id=case_id, department_code=dept))
    if rng.random() < 0.05:
        later(1, 4)
        events.append(CaseReturned(envelope=dept_env(dept), case_id=case_id,
                                   department_code=dept, reason="非本部门职责"))
        later(0.2, 1)
        dept = rng.choice(DEPARTMENTS)[0]
        events.append(CaseDispatched(envelope=env(ActorRole.command_centre, *centre),
                                     case_id=case_id, department_code=dept))
    if rng.random() < 0.06:
        later(0.5, 3)
        new = rng.choice(DEPARTMENTS)[0]
        events.append(CaseTransferred(envelope=dept_env(dept), case_id=case_id,
                                      from_department=dept, to_department=new, reason="转派至主责部门"))
        dept = new
    later(0.2, 6)
    events.append(CaseClaimed(envelope=dept_env(dept), case_id=case_id, department_code=dept))
    if rng.random() < 0.03:
        later(1, 8)
        events.append(CaseEscalated(envelope=env(ActorRole.command_centre, *centre),
                                    case_id=case_id, from_level=EscalationLevel.street,
                                    to_level=EscalationLevel.district, reason="需区级协调"))
    if rng.random() < 0.06:
        later(2, 20)
        events.append(CaseExtended(envelope=env(ActorRole.command_centre, *centre),
                                   case_id=case_id, stage=Stage.handle, extra_working_hours=16,
                                   approved_by="centre-chief", reason="需协调多方"))
    if rng.random() < 0.04:
        later(1, 10)
        events.append(CaseSuspended(envelope=dept_env(dept), case_id=case_id, reason="等待上级批复"))
        later(24, 120)
        events.append(CaseResumed(envelope=dept_env(dept), case_id=case_id))
    for attempt in range(3):
        later(2, 60 if rng.random() < 0.1 else 30)  # a tenth run well past the deadline
        events.append(CaseResolved(envelope=dept_env(dept), case_id=case_id,
                                   department_code=dept, resolution="已现场处置完毕"))
        later(1, 16)
        passed = attempt == 2 or rng.random() > 0.08
        events.append(CaseVerified(envelope=env(ActorRole.grid_worker, worker, "gridapp"),
                                   case_id=case_id, passed=passed, worker_id=worker,
                                   comment=None if passed else "现场仍有问题"))
        if passed:
            break  # a failed verification sends the case straight back for rework
    later(0.1, 2)
    events.append(CaseClosed(envelope=env(ActorRole.command_centre, *centre), case_id=case_id))
    if rng.random() < 0.7:
        later(1, 48)
        events.append(CaseEvaluated(envelope=env(ActorRole.resident, "resident", "residentapp"),
                                    case_id=case_id, satisfaction=rng.choices(
                                        [5, 4, 3, 2, 1], weights=[60, 25, 8, 4, 3])[0]))
    return events


def day_events(city: City, day: date, rng: random.Random, visits_per_worker: float = 1.0,
               discovery_rate: float = 0.08) -> Iterator[Event]:
    """Every visit of one day and the whole lifecycle of each case found on it, in event-time
    order (a case's own events stay in order)."""
    out: list[Event] = []
    for grid in city.grids:
        for worker in city.workers[grid]:
            for _ in range(int(visits_per_worker) + (rng.random() < visits_per_worker % 1)):
                found: list[str] = []
                if rng.random() < discovery_rate:
                    found.append(f"c-{day:%Y%m%d}-{rng.getrandbits(40):010x}")
                v = visit(city, grid, worker, day, rng, tuple(found))
                out.append(v)
                for case_id in found:
                    out += case_lifecycle(case_id, grid, worker, v.ended_at, rng, v.visit_id)
    out.sort(key=lambda e: e.envelope.event_time)
    yield from out
