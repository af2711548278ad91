"""The simulated jurisdiction tree and its reference data, as reference events.

``CityShape`` sets the scale: Ningbo's whole city (10 districts, 156 streets, 12,216 grids,
one leader and about 3.3 workers per grid) or one pilot street (Zhuangshi in Zhenhai: 14
communities, 189 grids). Places, departments, categories, the SLA policy and the worker
assignments are effective from ``effective_from`` (1 January 2025 unless said otherwise);
the shipped calendars and both lexicon versions from their own dates.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from events.models import (
    ActorRole,
    CalendarDefined,
    CategoryDefined,
    DepartmentDefined,
    Envelope,
    Event,
    GeoPoint,
    PlaceDefined,
    PlaceLevel,
    Priority,
    SlaLimit,
    SlaPolicyDefined,
    Stage,
    WorkerAssigned,
    WorkerRole,
)
from processors.data import shipped_calendar_definitions
from simulate.catalogue import CATEGORIES, DEPARTMENTS, DISTRICTS, RURAL, DistrictSpec
from simulate.geography import Quad, district_quads, tile
from simulate.ids import envelope
from simulate.lexicon import lexicon_events

__all__ = ["EPOCH", "SLA_HOURS", "City", "CityShape", "reference_events"]

SOURCE = "reference.city-admin"
EPOCH = date(2025, 1, 1)  # the first day the shipped calendars cover

# Working hours per (stage, priority); warnings come this many hours before the due time.
SLA_HOURS = {
    Stage.claim: {Priority.normal: 8, Priority.urgent: 2, Priority.critical: 1},
    Stage.handle: {Priority.normal: 40, Priority.urgent: 16, Priority.critical: 4},
    Stage.verify: {Priority.normal: 16, Priority.urgent: 8, Priority.critical: 4},
}


@dataclass(frozen=True)
class CityShape:
    """How big the simulated city is, and where it starts in the list of districts."""

    districts: int = 10
    streets: int = 156
    grids: int = 12_216
    grids_per_village: int = 13
    workers_per_grid: float = 3.3
    name: str = "ningbo"
    first_district: int = 0
    street_name: str | None = None  # the name of a one-street city

    @classmethod
    def ningbo(cls) -> CityShape:
        """The whole city: 10 districts and counties, 156 streets and towns, 12,216 grids."""
        return cls()

    @classmethod
    def zhuangshi(cls) -> CityShape:
        """One pilot street: Zhuangshi (庄市街道, Zhenhai), 14 communities, 189 grids."""
        return cls(
            districts=1,
            streets=1,
            grids=189,
            grids_per_village=14,
            name="zhuangshi",
            first_district=2,
            street_name="庄市街道",
        )

    @classmethod
    def named(cls, name: str) -> CityShape:
        """``ningbo`` or ``zhuangshi``; ``ValueError`` for another name."""
        shapes = {"ningbo": cls.ningbo, "zhuangshi": cls.zhuangshi}
        if name not in shapes:
            raise ValueError(f"unknown city shape {name!r}; known: {', '.join(shapes)}")
        return shapes[name]()


@dataclass
class City:
    """The places and people of a simulated city, for the activity generators."""

    grids: list[str] = field(default_factory=list)
    grid_street: dict[str, str] = field(default_factory=dict)
    grid_district: dict[str, DistrictSpec] = field(default_factory=dict)
    workers: dict[str, list[str]] = field(default_factory=dict)  # grid → its workers
    leaders: dict[str, str] = field(default_factory=dict)  # grid → its leader
    outlines: dict[str, Quad] = field(default_factory=dict)  # place → its quadrilateral
    effective_from: date = EPOCH


def _spread(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _admin(rng: random.Random, since: date) -> Envelope:
    return envelope(rng, datetime.combine(since, time(0), UTC), SOURCE, "admin", ActorRole.system)


def _ring(quad: Quad) -> tuple[GeoPoint, ...]:
    return tuple(GeoPoint(lat=lat, lon=lon) for lon, lat in quad)


def build_city(
    shape: CityShape, rng: random.Random, since: date = EPOCH
) -> tuple[City, list[PlaceDefined]]:
    """The jurisdiction tree as PlaceDefined events, each below the city with its boundary
    (see ``simulate.geography``), and the City index over it."""
    city = City(effective_from=since)
    outlines = city.outlines

    def place(code: str, level: PlaceLevel, name: str, parent: str | None) -> PlaceDefined:
        quad = outlines.get(code)
        return PlaceDefined(
            envelope=_admin(rng, since),
            code=code,
            level=level,
            name=name,
            parent_code=parent,
            effective_from=since,
            boundary=None if quad is None else _ring(quad),
        )

    places = [place("nb", PlaceLevel.city, "宁波市", None)]
    street_no = 0
    grids_per_street = _spread(shape.grids, shape.streets)
    districts = district_quads()
    for d, streets in enumerate(_spread(shape.streets, shape.districts)):
        district = DISTRICTS[(shape.first_district + d) % len(DISTRICTS)]
        outlines[district.code] = districts[district.code]
        places.append(place(district.code, PlaceLevel.district, district.name, "nb"))
        village_kind = "村" if district.settings[0] == RURAL else "社区"
        s_codes = [f"{district.code}-s{street_no + i:03d}" for i in range(1, streets + 1)]
        s_grids = grids_per_street[street_no : street_no + streets]
        outlines.update(tile(district.code, outlines[district.code], list(zip(s_codes, s_grids))))
        for s_code, grids_here in zip(s_codes, s_grids, strict=True):
            street_no += 1
            s_name = shape.street_name or f"{district.name}第{street_no}街道"
            places.append(place(s_code, PlaceLevel.street, s_name, district.code))
            villages = _spread(grids_here, max(1, round(grids_here / shape.grids_per_village)))
            v_codes = [f"{s_code}-v{v:02d}" for v in range(1, len(villages) + 1)]
            outlines.update(tile(s_code, outlines[s_code], list(zip(v_codes, villages))))
            for v, (v_code, n_grids) in enumerate(zip(v_codes, villages, strict=True), start=1):
                places.append(place(v_code, PlaceLevel.village, f"第{v}{village_kind}", s_code))
                g_codes = [f"{v_code}-g{g:02d}" for g in range(1, n_grids + 1)]
                outlines.update(tile(v_code, outlines[v_code], [(g, 1.0) for g in g_codes]))
                for g, g_code in enumerate(g_codes, start=1):
                    places.append(place(g_code, PlaceLevel.grid, f"第{g}网格", v_code))
                    city.grids.append(g_code)
                    city.grid_street[g_code] = s_code
                    city.grid_district[g_code] = district
    return city, places


def staff(city: City, shape: CityShape, rng: random.Random) -> list[WorkerAssigned]:
    """One leader per grid and about ``workers_per_grid`` workers, as WorkerAssigned events."""
    events = []
    for grid in city.grids:
        n = max(1, int(shape.workers_per_grid) + (rng.random() < shape.workers_per_grid % 1))
        city.workers[grid] = [f"w-{grid}-{i}" for i in range(1, n + 1)]
        city.leaders[grid] = f"l-{grid}"
        for worker, role in [(city.leaders[grid], WorkerRole.grid_leader)] + [
            (w, WorkerRole.grid_worker) for w in city.workers[grid]
        ]:
            events.append(
                WorkerAssigned(
                    envelope=_admin(rng, city.effective_from),
                    worker_id=worker,
                    role=role,
                    grid_id=grid,
                    effective_from=city.effective_from,
                )
            )
    return events


def calendars(rng: random.Random) -> list[CalendarDefined]:
    """The shipped working-time calendars (one CalendarDefined per year)."""
    events = []
    for payload in shipped_calendar_definitions():
        env = _admin(rng, date(payload["year"] - 1, 12, 1))
        events.append(CalendarDefined.model_validate({**payload, "envelope": env}))
    return events


def ladder_hours(h: int) -> dict[str, Any]:
    """The supervision ladder of a stage of ``h`` working hours: urged every quarter of it
    (at least 2 h), five times at most, supervised by the street after half of it (at least 4 h) and by the
    district after twice that, with half the stage (at least 8 h) to answer supervision; listed
    in each month's notice while overdue."""
    street = max(4, h // 2)
    return {
        "urge_every_hours": max(2, h // 4),
        "max_urges": 5,
        "street_supervision_after_hours": street,
        "district_supervision_after_hours": 2 * street,
        "supervision_hours": max(8, h // 2),
        "monthly_notice": True,
    }


def definitions(rng: random.Random, since: date) -> list[Event]:
    """Departments, the SLA policy, categories and every version of the hot-word lexicon."""
    events: list[Event] = [
        DepartmentDefined(envelope=_admin(rng, since), code=code, name=name, effective_from=since)
        for code, name in DEPARTMENTS
    ]
    limits = tuple(
        SlaLimit(
            stage=stage,
            priority=prio,
            working_hours=h,
            warn_before_hours=max(1, h // 4),
            **ladder_hours(h),
        )
        for stage, by_prio in SLA_HOURS.items()
        for prio, h in by_prio.items()
    )
    events.append(
        SlaPolicyDefined(
            envelope=_admin(rng, since),
            policy_id="standard",
            version=1,
            limits=limits,
            effective_from=since,
        )
    )
    events += [
        CategoryDefined(
            envelope=_admin(rng, since),
            code=c.code,
            name=c.name,
            default_department_code=c.department,
            sla_policy_id="standard",
            effective_from=since,
        )
        for c in CATEGORIES
    ]
    events += lexicon_events(lambda: _admin(rng, since))
    return events


def reference_events(
    shape: CityShape, seed: int, effective_from: date = EPOCH
) -> tuple[City, list[Event]]:
    """Everything a city needs defined before its first visit, in a valid order.

    The same ``(shape, seed, effective_from)`` always gives the same events and ids.
    """
    rng = random.Random(f"reference:{shape.name}:{seed}:{effective_from}")
    city, places = build_city(shape, rng, effective_from)
    events: list[Event] = [*calendars(rng), *definitions(rng, effective_from), *places]
    events += staff(city, shape, rng)
    return city, events
