"""The simulated jurisdiction tree and its reference data, as reference events.

``CityShape`` sets the scale: Ningbo's whole city (10 districts, 156 streets, 12,216 grids,
about 40,000 grid workers) or one pilot street (Zhuangshi: 14 communities, 189 grids).
Every definition is effective from ``effective_from``, the day the simulation begins.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from events.models import (
    ActorRole,
    CalendarDefined,
    CategoryDefined,
    DepartmentDefined,
    Event,
    LexiconPublished,
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
from simulate.catalogue import CATEGORIES, DEPARTMENTS, DISTRICTS
from simulate.ids import envelope

SOURCE = "reference.city-admin"

# Working hours per (stage, priority); warnings come this many hours before the due time.
SLA_HOURS = {
    Stage.claim: {Priority.normal: 8, Priority.urgent: 2, Priority.critical: 1},
    Stage.handle: {Priority.normal: 40, Priority.urgent: 16, Priority.critical: 4},
    Stage.verify: {Priority.normal: 16, Priority.urgent: 8, Priority.critical: 4},
}


@dataclass(frozen=True)
class CityShape:
    """How big the simulated city is."""

    districts: int = 10
    streets: int = 156
    grids: int = 12_216
    grids_per_village: int = 13
    workers_per_grid: float = 3.3
    name: str = "ningbo"

    @classmethod
    def zhuangshi(cls) -> CityShape:
        """One pilot street: Zhuangshi (庄市街道), 14 communities, 189 grids."""
        return cls(districts=1, streets=1, grids=189, grids_per_village=14, name="zhuangshi")


@dataclass
class City:
    """The places and people of a simulated city, for the activity generators."""

    grids: list[str] = field(default_factory=list)
    grid_street: dict[str, str] = field(default_factory=dict)
    workers: dict[str, list[str]] = field(default_factory=dict)  # grid → its workers
    leaders: dict[str, str] = field(default_factory=dict)  # grid → its leader


def _spread(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def build_city(shape: CityShape, rng: random.Random) -> tuple[City, list[PlaceDefined]]:
    """The jurisdiction tree as PlaceDefined events, and the City index over it."""
    city = City()
    when = datetime(2025, 1, 1, tzinfo=UTC)
    since = date(2025, 1, 1)

    def place(code: str, level: PlaceLevel, name: str, parent: str | None) -> PlaceDefined:
        env = envelope(rng, when, SOURCE, "admin", ActorRole.system)
        return PlaceDefined(
            envelope=env, code=code, level=level, name=name, parent_code=parent,
            effective_from=since,
        )

    places = [place("nb", PlaceLevel.city, "宁波市", None)]
    street_no = 0
    grids_per_street = _spread(shape.grids, shape.streets)
    for d, streets in enumerate(_spread(shape.streets, shape.districts)):
        d_code, d_name = DISTRICTS[d % len(DISTRICTS)]
        places.append(place(d_code, PlaceLevel.district, d_name, "nb"))
        for _ in range(streets):
            street_no += 1
            s_code = f"{d_code}-s{street_no:03d}"
            places.append(place(s_code, PlaceLevel.street, f"{d_name}第{street_no}街道", d_code))
            grids_here = grids_per_street[street_no - 1]
            villages = max(1, round(grids_here / shape.grids_per_village))
            for v, n_grids in enumerate(_spread(grids_here, villages), start=1):
                v_code = f"{s_code}-v{v:02d}"
                places.append(place(v_code, PlaceLevel.village, f"第{v}社区", s_code))
                for g in range(1, n_grids + 1):
                    g_code = f"{v_code}-g{g:02d}"
                    places.append(place(g_code, PlaceLevel.grid, f"第{g}网格", v_code))
                    city.grids.append(g_code)
                    city.grid_street[g_code] = s_code
    return city, places


def staff(city: City, shape: CityShape, rng: random.Random) -> list[WorkerAssigned]:
    """One leader per grid and about ``workers_per_grid`` workers, as WorkerAssigned events."""
    when = datetime(2025, 1, 1, tzinfo=UTC)
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
                    envelope=envelope(rng, when, SOURCE, "admin", ActorRole.system),
                    worker_id=worker, role=role, grid_id=grid, effective_from=date(2025, 1, 1),
                )
            )
    return events


def calendars(rng: random.Random) -> list[CalendarDefined]:
    """The shipped working-time calendars (one CalendarDefined per year)."""
    events = []
    for payload in shipped_calendar_definitions():
        when = datetime(payload["year"] - 1, 12, 1, tzinfo=UTC)
        env = envelope(rng, when, SOURCE, "admin", ActorRole.system)
        events.append(CalendarDefined.model_validate({**payload, "envelope": env}))
    return events


def definitions(rng: random.Random) -> list[Event]:
    """Departments, SLA policies, categories and the hot-word lexicon."""
    when = datetime(2025, 1, 1, tzinfo=UTC)
    since = date(2025, 1, 1)

    def env() -> object:
        return envelope(rng, when, SOURCE, "admin", ActorRole.system)

    events: list[Event] = [
        DepartmentDefined(envelope=env(), code=code, name=name, effective_from=since)
        for code, name in DEPARTMENTS
    ]
    limits = tuple(
        SlaLimit(stage=stage, priority=prio, working_hours=h, warn_before_hours=max(1, h // 4))
        for stage, by_prio in SLA_HOURS.items()
        for prio, h in by_prio.items()
    )
    events.append(
        SlaPolicyDefined(envelope=env(), policy_id="standard", version=1, limits=limits,
                         effective_from=since)
    )
    events += [
        CategoryDefined(envelope=env(), code=code, name=name, default_department_code=dept,
                        sla_policy_id="standard", effective_from=since)
        for code, name, dept, _, _ in CATEGORIES
    ]
    events.append(
        LexiconPublished(
            envelope=env(), lexicon_version="lex-2025.1",
            user_words=("电动车", "消防通道", "群租房", "小广告", "占道经营", "网格员"),
            stop_words=("的", "了", "在", "是", "和", "有", "需", "已"),
            effective_from=since,
        )
    )
    return events


def reference_events(shape: CityShape, seed: int) -> tuple[City, list[Event]]:
    """Everything a city needs defined before its first visit, in a valid order."""
    rng = random.Random(seed)
    city, places = build_city(shape, rng)
    events: list[Event] = [*calendars(rng), *definitions(rng), *places]
    events += staff(city, shape, rng)
    return city, events
