"""A simulated day of grid governance: every worker's visits with their tracks, and the cases
of the day from all four channels, each with its whole lifecycle.

- grid visits: on a working day each grid worker visits about once (a quarter as often on rest
  days), 08:30–17:00, and finds a problem on about one visit in twelve;
- residents report through the app (07:00–22:00) and the 12345 hotline (day and night);
- departments report what their own inspections find, in office hours.

What a report is about follows the district's settings and the quarter (see
``simulate.catalogue``), and its text is composed by ``simulate.texts``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from itertools import accumulate

from events.models import (
    ActorRole,
    Channel,
    Event,
    GeoPoint,
    Priority,
    TrackPoint,
    VisitRecorded,
)
from simulate.catalogue import CATEGORIES, CategorySpec, DistrictSpec, category_weights
from simulate.city import City
from simulate.clock import OfficeHours, at
from simulate.geography import Quad, point_in
from simulate.ids import envelope
from simulate.lifecycle import Lifecycle, Report, case_lifecycle
from simulate.texts import quarter_of, report_text

__all__ = ["DayActivity", "Rates", "day_events", "simulate_day"]

ITEM_CODES = tuple(c.code for c in CATEGORIES)


@dataclass(frozen=True)
class Rates:
    """How much happens in a day. Visits per worker are for a working day (``rest_day`` of
    it on weekends and holidays); reports per grid are per day."""

    visits_per_worker: float = 1.0
    discovery_rate: float = 0.08
    resident_per_grid: float = 0.05
    hotline_per_grid: float = 0.035
    department_per_grid: float = 0.02
    rest_day: float = 0.25


@dataclass
class DayActivity:
    """Everything that starts on one day: visits and cases (with all their later steps)."""

    day: date
    events: list[Event] = field(default_factory=list)
    invalid: dict[str, str] = field(default_factory=dict)  # event id → expected rejection code
    cases: dict[str, int] = field(default_factory=dict)  # channel → cases reported


_MARGIN = 0.02  # points stay this share of a grid's size away from its edges


def _inside(u: float, v: float) -> tuple[float, float]:
    """``(u, v)`` drawn from [0, 1] pulled into the grid's inner square."""
    return _MARGIN + (1 - 2 * _MARGIN) * u, _MARGIN + (1 - 2 * _MARGIN) * v


def _at(quad: Quad, u: float, v: float) -> tuple[float, float]:
    lon, lat = point_in(quad, *_inside(u, v))
    return lat, lon


def _walk(rng: random.Random, outline: Quad, points: int) -> list[tuple[float, float]]:
    """A walk about one spot of the grid, every point inside it."""
    u, v = rng.random(), rng.random()
    return [
        _at(
            outline,
            min(1.0, max(0.0, u + rng.uniform(-0.15, 0.15))),
            min(1.0, max(0.0, v + rng.uniform(-0.15, 0.15))),
        )
        for _ in range(points)
    ]


def _count(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count (normal approximation for large means)."""
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _visits(rng: random.Random, mean: float) -> int:
    """A worker's visits today: about ``mean``, one more or one fewer one day in ten each."""
    n = int(mean) + (rng.random() < mean % 1)
    jitter = rng.random()
    if jitter < 0.1 and n > 0:
        return n - 1
    return n + 1 if jitter > 0.9 else n


@cache
def _cumulative(district: DistrictSpec, quarter: int) -> list[float]:
    return list(accumulate(category_weights(district, quarter)))


def _category(rng: random.Random, district: DistrictSpec, day: date) -> CategorySpec:
    return rng.choices(CATEGORIES, cum_weights=_cumulative(district, quarter_of(day)))[0]


def _priority(rng: random.Random, category: CategorySpec) -> Priority:
    if rng.random() >= category.urgent_share:
        return Priority.normal
    return Priority.critical if rng.random() < 0.1 else Priority.urgent


def visit(
    grid: str,
    worker: str,
    day: date,
    rng: random.Random,
    findings: tuple[str, ...],
    outline: Quad,
) -> VisitRecorded:
    """One visit of ``worker`` in ``grid`` (whose quadrilateral is ``outline``): households,
    items checked, a six-point track inside the grid."""
    start = at(day, rng.uniform(8.5, 15.5))
    minutes = rng.randint(20, 120)
    track = tuple(
        TrackPoint(t=start + timedelta(minutes=minutes * i / 5), lat=lat, lon=lon)
        for i, (lat, lon) in enumerate(_walk(rng, outline, 6))
    )
    items = tuple(sorted(rng.sample(ITEM_CODES, rng.randint(2, 6))))
    end = start + timedelta(minutes=minutes)
    return VisitRecorded(
        envelope=envelope(
            rng,
            end,
            "gridapp",
            worker,
            ActorRole.grid_worker,
            recorded_time=end + timedelta(minutes=rng.randint(0, 30)),
        ),
        visit_id=f"v-{rng.getrandbits(48):012x}",
        grid_id=grid,
        worker_id=worker,
        started_at=start,
        ended_at=end,
        households_visited=rng.randint(3, 40),
        items_checked=items,
        findings=findings,
        track=track,
        notes=rng.choice([None, "走访正常", "住户不在家，已留联系卡", "宣传垃圾分类", "反诈宣传"]),
    )


class _Day:
    """The day being generated: its RNG, office hours and what it has produced so far."""

    def __init__(
        self, city: City, day: date, rng: random.Random, office: OfficeHours, invalid_share: float
    ) -> None:
        self.city, self.day, self.rng, self.office = city, day, rng, office
        self.invalid_share = invalid_share
        self.out = DayActivity(day)
        self.reported: dict[str, list[tuple[datetime, str]]] = {}  # grid → (time, case id)

    def case_id(self) -> str:
        return f"c-{self.day:%Y%m%d}-{self.rng.getrandbits(40):010x}"

    def report(
        self,
        case_id: str,
        grid: str,
        channel: Channel,
        when: datetime,
        actor: tuple[ActorRole, str, str],
        verifier: str,
        visit_id: str | None = None,
        reporter_ref: str | None = None,
        category: CategorySpec | None = None,
        department: str | None = None,
    ) -> None:
        rng, district = self.rng, self.city.grid_district[grid]
        category = category or _category(rng, district, self.day)
        title, description = report_text(
            rng, category.code, district, self.day, channel, department
        )
        earlier = [c for t, c in self.reported.get(grid, ()) if t <= when]
        lat, lon = _at(self.city.outlines[grid], rng.random(), rng.random())
        lifecycle = case_lifecycle(
            Report(
                case_id=case_id,
                grid=grid,
                verifier=verifier,
                category=category,
                priority=_priority(rng, category),
                channel=channel,
                at=when,
                actor=actor,
                title=title,
                description=description,
                location=GeoPoint(lat=lat, lon=lon),
                visit_id=visit_id,
                reporter_ref=reporter_ref,
                duplicate_of=rng.choice(earlier) if earlier else None,
            ),
            rng,
            self.office,
            self.invalid_share,
        )
        self._keep(lifecycle)
        self.reported.setdefault(grid, []).append((when, case_id))
        self.out.cases[channel.value] = self.out.cases.get(channel.value, 0) + 1

    def _keep(self, lifecycle: Lifecycle) -> None:
        self.out.events += lifecycle.events
        self.out.invalid.update(lifecycle.invalid)


def simulate_day(
    city: City,
    day: date,
    rng: random.Random,
    office: OfficeHours | None = None,
    rates: Rates = Rates(),
    invalid_share: float = 0.0,
) -> DayActivity:
    """Every visit and case that starts on ``day``, unordered (see ``DayActivity``)."""
    office = office or OfficeHours()
    gen = _Day(city, day, rng, office, invalid_share)
    working = office.is_working_day(day)
    per_worker = rates.visits_per_worker * (1.0 if working else rates.rest_day)
    for grid in city.grids:
        for worker in city.workers[grid]:
            for _ in range(_visits(rng, per_worker)):
                found = (gen.case_id(),) if rng.random() < rates.discovery_rate else ()
                v = visit(grid, worker, day, rng, found, city.outlines[grid])
                gen.out.events.append(v)
                for case_id in found:
                    gen.report(
                        case_id,
                        grid,
                        Channel.grid_visit,
                        v.ended_at,
                        (ActorRole.grid_worker, worker, "gridapp"),
                        worker,
                        v.visit_id,
                    )
    grids = len(city.grids)
    for _ in range(_count(rng, rates.resident_per_grid * grids)):
        grid, ref = rng.choice(city.grids), f"r-{rng.getrandbits(64):016x}"
        gen.report(
            gen.case_id(),
            grid,
            Channel.resident,
            at(day, rng.uniform(7, 22)),
            (ActorRole.resident, ref, "residentapp"),
            rng.choice(city.workers[grid]),
            reporter_ref=ref,
        )
    for _ in range(_count(rng, rates.hotline_per_grid * grids)):
        grid, ref = rng.choice(city.grids), f"r-{rng.getrandbits(64):016x}"
        gen.report(
            gen.case_id(),
            grid,
            Channel.hotline,
            at(day, rng.triangular(0, 24, 10)),
            (ActorRole.command_centre, "hotline-12345", "hotline.12345"),
            rng.choice(city.workers[grid]),
            reporter_ref=ref,
        )
    department_mean = rates.department_per_grid * grids * (1.0 if working else 0.2)
    for _ in range(_count(rng, department_mean)):
        grid = rng.choice(city.grids)
        category = _category(rng, city.grid_district[grid], day)
        dept = category.department
        gen.report(
            gen.case_id(),
            grid,
            Channel.department,
            at(day, rng.uniform(9, 17)),
            (ActorRole.department, f"{dept}-desk", f"dept.{dept}"),
            rng.choice(city.workers[grid]),
            category=category,
            department=dept,
        )
    return gen.out


def day_events(
    city: City,
    day: date,
    rng: random.Random,
    visits_per_worker: float = 1.0,
    discovery_rate: float = 0.08,
) -> Iterator[Event]:
    """The events of ``simulate_day`` in the order the platform records them (each case's
    own events stay in order)."""
    rates = Rates(visits_per_worker=visits_per_worker, discovery_rate=discovery_rate)
    events = simulate_day(city, day, rng, rates=rates).events
    events.sort(key=lambda e: e.envelope.recorded_time)
    yield from events
