"""The effective-dated reference view, ``decide_reference`` and ``decide_visit``.

Also home of the small reference world (``world()``) that the state-machine tests share.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain.calendar import SHANGHAI
from domain.decisions import Accepted, Duplicate, Rejected
from domain.decisions import RejectionCode as Code
from domain.errors import UnknownReference
from domain.reference_rules import decide_reference
from domain.reference_view import ReferenceView, day_of
from domain.visit_rules import decide_visit
from events.models import Event, model_for
from processors.data import shipped_calendar_definitions

_ids = itertools.count(1)
DAY0 = date(2025, 1, 1)
REGRID = date(2025, 7, 1)
CITY, DISTRICT, STREET = "330200", "330211", "330211004"
VILLAGE, VILLAGE_2 = "330211004001", "330211004002"
GRID, GRID_2, GRID_NEW = "330211004001001", "330211004001002", "330211004002009"
WORKER, WORKER_2 = "worker-042", "worker-043"
LAW, MARKET = "dept.law-enforcement", "dept.market-supervision"


def sh(*args: int) -> datetime:
    """An Asia/Shanghai wall-clock time as an aware UTC instant."""
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)  # type: ignore[misc]


def envelope(
    at: datetime | None = None,
    actor: tuple[str, str] = ("admin", "system"),
    event_id: str | None = None,
    sequence: int | None = None,
) -> dict[str, Any]:
    """A submission envelope with a fresh, deterministic event id."""
    at = at or sh(2025, 1, 1, 9, 0)
    return {
        "event_id": event_id or f"ev-{next(_ids)}",
        "event_time": at,
        "recorded_time": at,
        "source_system": "test",
        "actor": {"id": actor[0], "role": actor[1]},
        "sequence": sequence,
    }


def ev(event_type: str, *, env: dict[str, Any] | None = None, **fields: Any) -> Event:
    """A validated event of ``event_type``."""
    return model_for(event_type).model_validate({"envelope": env or envelope(), **fields})


def limits(hours: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """A complete SLA limit table: claim 8 h (warn 2), handle 40 h (warn 8), verify 16 h."""
    base = {"claim": (8, 2), "handle": (40, 8), "verify": (16, 0)} | {
        k: (v, 2) for k, v in (hours or {}).items()
    }
    return [
        {"stage": s, "priority": p, "working_hours": base[s][0], "warn_before_hours": base[s][1]}
        for s in ("claim", "handle", "verify")
        for p in ("normal", "urgent", "critical")
    ]


def place(code: str, level: str, parent: str | None, since: date = DAY0) -> Event:
    return ev(
        "PlaceDefined",
        code=code,
        level=level,
        name=f"地点{code[-3:]}",
        parent_code=parent,
        effective_from=since,
    )


def world_events() -> list[Event]:
    """City → district → street → two villages → grids; workers, departments, categories, an
    SLA policy and the shipped 2025/2026 calendars. GRID_2 moves to VILLAGE_2 on REGRID."""
    return [
        *(ev("CalendarDefined", **payload) for payload in shipped_calendar_definitions()),
        place(CITY, "city", None),
        place(DISTRICT, "district", CITY),
        place(STREET, "street", DISTRICT),
        place(VILLAGE, "village", STREET),
        place(VILLAGE_2, "village", STREET),
        place(GRID, "grid", VILLAGE),
        place(GRID_2, "grid", VILLAGE),
        place(GRID_2, "grid", VILLAGE_2, REGRID),
        place(GRID_NEW, "grid", VILLAGE_2, REGRID),
        ev(
            "WorkerAssigned",
            worker_id=WORKER,
            role="grid_worker",
            grid_id=GRID,
            effective_from=DAY0,
        ),
        ev(
            "WorkerAssigned",
            worker_id=WORKER_2,
            role="grid_worker",
            grid_id=GRID_2,
            effective_from=DAY0,
            effective_to=date(2025, 12, 31),
        ),
        ev("DepartmentDefined", code=LAW, name="综合执法", effective_from=DAY0),
        ev("DepartmentDefined", code=MARKET, name="市场监管", effective_from=DAY0),
        ev(
            "SlaPolicyDefined",
            policy_id="sla.default",
            version=1,
            limits=limits(),
            effective_from=DAY0,
        ),
        ev(
            "CategoryDefined",
            code="city_appearance",
            name="市容市貌",
            default_department_code=LAW,
            sla_policy_id="sla.default",
            effective_from=DAY0,
        ),
        ev(
            "CategoryDefined",
            code="food_drug",
            name="食品药品",
            default_department_code=MARKET,
            sla_policy_id="sla.default",
            effective_from=DAY0,
        ),
        ev(
            "LexiconPublished",
            lexicon_version="2025Q1",
            user_words=["占道经营"],
            stop_words=["的"],
            effective_from=DAY0,
        ),
    ]


def world() -> ReferenceView:
    """The reference world, folded through ``decide_reference`` so every definition is valid."""
    view = ReferenceView()
    for event in world_events():
        decision = decide_reference(view, event)
        assert isinstance(decision, Accepted), decision
        view = view.apply_all(decision.events)
    return view


REF = world()


# --- the view ----------------------------------------------------------------------------------
def test_effective_dates_of_grids_and_re_gridding() -> None:
    assert REF.grid_effective(GRID, date(2025, 3, 3))
    assert not REF.grid_effective(GRID, date(2024, 12, 31))
    assert not REF.grid_effective(GRID_NEW, date(2025, 6, 30))
    assert REF.grid_effective(GRID_NEW, REGRID)
    assert not REF.grid_effective(STREET, date(2025, 3, 3))  # a street is not a grid
    chain = {
        "grid": GRID_2,
        "village": VILLAGE,
        "street": STREET,
        "district": DISTRICT,
        "city": CITY,
    }
    assert REF.parent_chain(GRID_2, date(2025, 6, 30)) == chain
    assert REF.parent_chain(GRID_2, REGRID) == chain | {"village": VILLAGE_2}
    assert REF.parent_chain(GRID_NEW, date(2025, 6, 30)) == {}


def test_retirement_ends_a_grid_from_its_date() -> None:
    view = REF.apply(ev("PlaceRetired", code=GRID, effective_from=date(2025, 9, 1)))
    assert view.grid_effective(GRID, date(2025, 8, 31))
    assert not view.grid_effective(GRID, date(2025, 9, 1))
    assert REF.grid_effective(GRID, date(2025, 9, 1))  # the old view is untouched


def test_worker_assignments_are_effective_dated() -> None:
    assert REF.worker_assigned(WORKER, GRID, date(2025, 3, 3))
    assert not REF.worker_assigned(WORKER, GRID_2, date(2025, 3, 3))
    assert REF.worker_assigned(WORKER_2, GRID_2, date(2025, 12, 31))  # effective_to inclusive
    assert REF.worker_grid(WORKER_2, date(2026, 1, 1)) is None
    moved = REF.apply(
        ev(
            "WorkerAssigned",
            worker_id=WORKER,
            role="grid_worker",
            grid_id=GRID_NEW,
            effective_from=REGRID,
        )
    )
    assert moved.worker_grid(WORKER, date(2025, 6, 30)) == GRID
    assert moved.worker_grid(WORKER, REGRID) == GRID_NEW


def test_departments_categories_policies_lexicons() -> None:
    assert REF.department_exists(LAW, date(2025, 1, 1))
    assert not REF.department_exists(LAW, date(2024, 12, 31))
    assert not REF.department_exists("dept.nowhere", date(2025, 3, 3))
    category = REF.category("food_drug", date(2025, 3, 3))
    assert category is not None and category.default_department_code == MARKET
    assert REF.category("weather", date(2025, 3, 3)) is None
    v2 = REF.apply(
        ev(
            "SlaPolicyDefined",
            policy_id="sla.default",
            version=2,
            limits=limits({"claim": 4}),
            effective_from=date(2025, 6, 1),
        )
    )
    old, new = (
        v2.sla_policy("sla.default", date(2025, 5, 31)),
        v2.sla_policy("sla.default", date(2025, 6, 1)),
    )
    assert old is not None and old.version == 1 and new is not None and new.version == 2
    assert new.limit("claim", "normal").working_hours == 4
    assert v2.sla_policy_version("sla.default", 1) == old
    assert v2.latest_policy_version("sla.default") == 2
    lexicon = REF.lexicon(date(2025, 3, 3))
    assert lexicon is not None and lexicon.version == "2025Q1"
    assert REF.lexicon(date(2024, 3, 3)) is None


def test_calendar_is_the_latest_definition_of_each_year() -> None:
    assert REF.calendar().version == "2025.1+2026.1"
    fixed = dict(shipped_calendar_definitions()[0], calendar_version="2025.2", holidays=[])
    view = REF.apply(ev("CalendarDefined", **fixed))
    assert view.calendar().version == "2025.2+2026.1"
    assert view.calendar_for("2025.1").version == "2025.1"  # as recorded on old deadlines
    with pytest.raises(UnknownReference, match="2024.1"):
        view.calendar_for("2024.1")


def test_dates_are_shanghai_dates_of_the_instant() -> None:
    assert day_of(datetime(2025, 3, 2, 16, 30, tzinfo=UTC)) == date(2025, 3, 3)
    assert REF.grid_effective(GRID, datetime(2024, 12, 31, 16, 0, tzinfo=UTC))


def test_apply_all_equals_successive_apply_and_counts_sequences() -> None:
    events = world_events()
    one_by_one = ReferenceView()
    for event in events:
        one_by_one = one_by_one.apply(event)
    at_once = ReferenceView().apply_all(events)
    assert one_by_one.sequence == at_once.sequence == len(events)
    assert one_by_one.parent_chain(GRID_2, REGRID) == at_once.parent_chain(GRID_2, REGRID)


# --- decide_reference --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event", "code"),
    [
        (place("x-grid", "grid", "nowhere"), Code.PARENT_NOT_EFFECTIVE),
        (place("x-grid", "grid", VILLAGE, date(2024, 6, 1)), Code.PARENT_NOT_EFFECTIVE),
        (place("x-grid", "grid", STREET), Code.PARENT_WRONG_LEVEL),
        (place("x-city", "city", CITY), Code.PARENT_WRONG_LEVEL),
        (place("x-street", "street", None), Code.PARENT_NOT_EFFECTIVE),
        (ev("PlaceRetired", code="x-grid", effective_from=REGRID), Code.UNKNOWN_PLACE),
        (ev("PlaceRetired", code=GRID, effective_from=DAY0), Code.RETIRED_BEFORE_DEFINED),
        (
            ev(
                "WorkerAssigned",
                worker_id="w-9",
                role="grid_worker",
                grid_id=GRID_NEW,
                effective_from=DAY0,
            ),
            Code.GRID_NOT_EFFECTIVE,
        ),
        (
            ev(
                "CategoryDefined",
                code="fire",
                name="火灾",
                default_department_code="dept.fire",
                sla_policy_id="sla.default",
                effective_from=DAY0,
            ),
            Code.UNKNOWN_DEPARTMENT,
        ),
        (
            ev(
                "CategoryDefined",
                code="fire",
                name="火灾",
                default_department_code=LAW,
                sla_policy_id="sla.fire",
                effective_from=DAY0,
            ),
            Code.UNKNOWN_SLA_POLICY,
        ),
        (
            ev(
                "SlaPolicyDefined",
                policy_id="sla.default",
                version=1,
                limits=limits(),
                effective_from=DAY0,
            ),
            Code.VERSION_NOT_INCREASING,
        ),
        (
            ev(
                "SlaPolicyDefined",
                policy_id="sla.fire",
                version=1,
                limits=limits()[:-1],
                effective_from=DAY0,
            ),
            Code.POLICY_INCOMPLETE,
        ),
        (ev("CalendarDefined", **shipped_calendar_definitions()[0]), Code.VERSION_EXISTS),
        (
            ev(
                "CalendarDefined",
                **dict(
                    shipped_calendar_definitions()[0],
                    calendar_version="x",
                    working_weekends=["2025-03-07"],
                ),
            ),
            Code.INVALID_CALENDAR,
        ),
        (
            ev(
                "LexiconPublished",
                lexicon_version="2025Q1",
                user_words=[],
                stop_words=[],
                effective_from=DAY0,
            ),
            Code.VERSION_EXISTS,
        ),
        (ev("CaseClosed", case_id="c-1"), Code.WRONG_STREAM),
        (
            ev(
                "DepartmentDefined",
                code="d",
                name="d",
                effective_from=DAY0,
                env=envelope(sequence=7),
            ),
            Code.SEQUENCE_SET_BY_SUBMITTER,
        ),
    ],
)
def test_reference_rejections(event: Event, code: Code) -> None:
    decision = decide_reference(REF, event)
    assert isinstance(decision, Rejected) and decision.code is code, decision
    assert len(decision.message) > 20


def test_reference_accepts_stamps_and_recognises_duplicates() -> None:
    event = ev("DepartmentDefined", code="dept.fire", name="消防", effective_from=DAY0)
    decision = decide_reference(REF, event)
    assert isinstance(decision, Accepted)
    (stamped,) = decision.events
    assert stamped.envelope.sequence == REF.sequence + 1
    view = REF.apply_all(decision.events)
    assert decide_reference(view, event) == Duplicate(REF.sequence + 1)


# --- decide_visit ------------------------------------------------------------------------------
START = sh(2025, 3, 3, 9, 0)


def visit(**changes: Any) -> Event:
    fields: dict[str, Any] = {
        "visit_id": "visit-1",
        "grid_id": GRID,
        "worker_id": WORKER,
        "started_at": START,
        "ended_at": START + timedelta(hours=2),
        "households_visited": 12,
        "items_checked": ["food_drug"],
        "findings": ["case-1"],
        "track": [{"t": START + timedelta(minutes=5), "lat": 29.94, "lon": 121.59}],
    }
    at = changes.pop("at", START + timedelta(hours=2))
    return ev("VisitRecorded", env=envelope(at, (WORKER, "grid_worker")), **(fields | changes))


@pytest.mark.parametrize(
    ("event", "code"),
    [
        (visit(grid_id=GRID_NEW), Code.GRID_NOT_EFFECTIVE),
        (visit(grid_id=GRID_2), Code.WORKER_NOT_ASSIGNED),
        (visit(worker_id="worker-999"), Code.WORKER_NOT_ASSIGNED),
        (
            visit().model_copy(update={"ended_at": START - timedelta(hours=1)}),
            Code.VISIT_ENDS_BEFORE_START,
        ),
        (
            visit(track=[{"t": START - timedelta(minutes=1), "lat": 29.9, "lon": 121.5}]),
            Code.TRACK_OUTSIDE_VISIT,
        ),
        (visit(items_checked=["food_drug", "weather"]), Code.UNKNOWN_CATEGORY),
        (visit(findings=["case-1", "case-1"]), Code.DUPLICATE_FINDING),
        (ev("CaseClosed", case_id="c-1"), Code.WRONG_STREAM),
        (
            visit().model_copy(
                update={"envelope": visit().envelope.model_copy(update={"sequence": 3})}
            ),
            Code.SEQUENCE_SET_BY_SUBMITTER,
        ),
    ],
)
def test_visit_rejections(event: Event, code: Code) -> None:
    decision = decide_visit(event, REF)
    assert isinstance(decision, Rejected) and decision.code is code, decision


def test_visit_accepted_stamped_and_idempotent() -> None:
    event = visit()
    assert decide_visit(event, REF) == Accepted((event,))
    decision = decide_visit(event, REF, sequence=4)
    assert isinstance(decision, Accepted) and decision.events[0].envelope.sequence == 4
    assert decide_visit(event, REF, seen_sequence=4) == Duplicate(4)


def _system(since: date, **scope: list[str]) -> Event:
    fields = {"event_types": ["CaseClaimed"], "departments": [MARKET], "districts": [DISTRICT]}
    return ev("SourceSystemDefined", system="market.app", effective_from=since, **(fields | scope))


def test_a_systems_scope_is_effective_dated() -> None:
    view = REF.apply_all(
        [_system(DAY0), _system(REGRID, event_types=["CaseClaimed", "CaseResolved"])]
    )
    assert view.system_scope("market.app", date(2024, 12, 31)) is None
    before, after = view.system_scope("market.app", DAY0), view.system_scope("market.app", REGRID)
    assert before is not None and before.event_types == ("CaseClaimed",)
    assert after is not None and after.event_types == ("CaseClaimed", "CaseResolved")
    assert after.departments == (MARKET,) and after.districts == (DISTRICT,)
    assert view.system_scope("other.app", REGRID) is None


@pytest.mark.parametrize(
    ("scope", "code"),
    [
        ({}, None),
        ({"departments": ["*"], "districts": ["*"]}, None),
        ({"departments": ["dept.nowhere"]}, Code.UNKNOWN_DEPARTMENT),
        ({"districts": [STREET]}, Code.UNKNOWN_PLACE),
        ({"districts": ["nowhere"]}, Code.UNKNOWN_PLACE),
    ],
)
def test_a_systems_scope_names_departments_and_districts_in_force(
    scope: dict[str, list[str]], code: Code | None
) -> None:
    decision = decide_reference(REF, _system(date(2025, 3, 3), **scope))
    if code is None:
        assert isinstance(decision, Accepted)
    else:
        assert isinstance(decision, Rejected) and decision.code == code
