"""Who may do what: each case step judged against who sent it, one code per wrong party, and
a verification judged on site."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.decisions import Accepted, Decision, Rejected
from domain.decisions import RejectionCode as Code
from domain.distance import metres_between
from domain.reference_view import ReferenceView
from tests.unit.test_reference_view import (
    DAY0,
    DISTRICT,
    GRID,
    LAW,
    MARKET,
    REF,
    WORKER,
    WORKER_2,
    ev,
    limits,
)
from tests.unit.test_state_machine import IN_PROGRESS, Case

OTHER_DISTRICT = "330212"
CASE_AT = {"lat": 29.9400, "lon": 121.6400}
KM_NORTH = {"lat": 29.9400 + 1000 / 111_195, "lon": 121.6400}  # 1,000 m north
NEAR = {"lat": 29.9400 + 300 / 111_195, "lon": 121.6400}  # 300 m north

DESK = ("law-desk", "department")
MARKET_DESK = ("market-desk", "department")
CENTRE = ("centre-1", "command_centre")


def system(name: str, since: date = DAY0, **scope: list[str]) -> Any:
    fields = {"event_types": ["*"], "departments": [], "districts": []} | scope
    return ev("SourceSystemDefined", system=name, effective_from=since, **fields)


SCOPED = REF.apply_all(
    [
        system("law.app", departments=[LAW], districts=["*"]),
        system("market.app", departments=[MARKET], districts=["*"]),
        system("centre.app", departments=["*"], districts=[DISTRICT]),
        system("centre.elsewhere", departments=["*"], districts=[OTHER_DISTRICT]),
        system("grid.app", districts=[DISTRICT]),
        system("grid.elsewhere", districts=[OTHER_DISTRICT]),
        system("later.app", since=date(2025, 6, 1), departments=[MARKET], districts=["*"]),
    ]
)


def case(*steps: str, ref: ReferenceView = SCOPED, **report: Any) -> Case:
    c = Case(ref)
    c.do("CaseReported", **report)
    for step in steps:
        c.do(step)
    return c


def refused(decision: Decision, code: Code, *words: str) -> None:
    assert isinstance(decision, Rejected), decision
    assert decision.code == code, decision
    for word in words:
        assert word in decision.message, decision.message


def test_a_department_system_claims_only_the_cases_of_its_departments() -> None:
    c = case(*IN_PROGRESS[:2])  # dispatched to LAW
    wrong = c.decide("CaseClaimed", actor=MARKET_DESK, source_system="market.app")
    refused(wrong, Code.WRONG_DEPARTMENT, "market.app", MARKET, LAW)
    assert isinstance(c.decide("CaseClaimed", actor=DESK, source_system="law.app"), Accepted)


def test_a_system_defined_only_later_is_taken_at_its_actors_word_until_then() -> None:
    c = case(*IN_PROGRESS[:2])  # March 2025; later.app speaks for MARKET from June
    assert isinstance(c.decide("CaseClaimed", actor=DESK, source_system="later.app"), Accepted)


def test_a_system_with_no_definition_still_names_the_department_that_holds_the_case() -> None:
    c = case(*IN_PROGRESS[:2])
    refused(
        c.decide("CaseClaimed", actor=MARKET_DESK, department_code=MARKET),
        Code.WRONG_DEPARTMENT,
    )
    assert isinstance(c.decide("CaseClaimed", actor=DESK), Accepted)


@pytest.mark.parametrize(
    ("path", "step"),
    [
        (IN_PROGRESS[:2], "CaseClaimed"),
        (IN_PROGRESS, "CaseResolved"),
        (IN_PROGRESS, "CaseReturned"),
        (IN_PROGRESS, "HandoffRequested"),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
@pytest.mark.parametrize("system", ["law.app", "unscoped.tool"])
def test_a_department_step_needs_a_department_actor(
    path: tuple[str, ...], step: str, system: str
) -> None:
    # taken at its word or scoped to the case's department, the actor still is not one
    c = case(*path)
    for actor in (CENTRE, (WORKER, "grid_worker")):
        wrong = c.decide(step, actor=actor, source_system=system)
        refused(wrong, Code.WRONG_DEPARTMENT, "is not a department", actor[0], system)
    assert isinstance(c.decide(step, actor=DESK, source_system=system), Accepted)


def test_the_department_or_the_command_centre_suspends_and_resumes() -> None:
    c = case(*IN_PROGRESS)
    worker = (WORKER, "grid_worker")
    both = ("is not a department", "is not a command centre")
    refused(c.decide("CaseSuspended", actor=worker), Code.WRONG_DEPARTMENT, *both)
    assert isinstance(c.decide("CaseSuspended", actor=CENTRE), Accepted)
    c.do("CaseSuspended", actor=DESK)
    refused(c.decide("CaseResumed", actor=worker), Code.WRONG_DEPARTMENT, *both)
    assert isinstance(c.decide("CaseResumed", actor=CENTRE), Accepted)


@pytest.mark.parametrize("step", ["CaseAccepted", "CaseRejected", "CaseEscalated"], ids=lambda s: s)
def test_only_a_command_centre_triages_and_escalates(step: str) -> None:
    refused(case().decide(step, actor=DESK), Code.NOT_COMMAND_CENTRE, "law-desk")


@pytest.mark.parametrize(
    ("path", "step"),
    [
        ((), "CaseAccepted"),
        (IN_PROGRESS[:1], "CaseDispatched"),
        (IN_PROGRESS, "CaseParked"),
        ((*IN_PROGRESS, "CaseResolved", "CaseVerified"), "CaseClosed"),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_a_command_centre_acts_only_in_its_own_district(path: tuple[str, ...], step: str) -> None:
    c = case(*path)
    wrong = c.decide(step, actor=CENTRE, source_system="centre.elsewhere")
    refused(wrong, Code.NOT_COMMAND_CENTRE, "centre.elsewhere", OTHER_DISTRICT, DISTRICT)
    assert isinstance(c.decide(step, actor=CENTRE, source_system="centre.app"), Accepted)


def test_parking_and_unparking_are_the_command_centres() -> None:
    c = case(*IN_PROGRESS)
    refused(c.decide("CaseParked", actor=DESK), Code.NOT_COMMAND_CENTRE)
    c.do("CaseParked")
    refused(c.decide("CaseUnparked", actor=DESK), Code.NOT_COMMAND_CENTRE)
    assert isinstance(c.decide("CaseUnparked"), Accepted)


def test_a_transfer_is_the_command_centres_alone() -> None:
    # 转派: a department that holds the case asks for a hand-off (HandoffRequested) instead.
    c = case(*IN_PROGRESS)
    for actor, system in ((MARKET_DESK, "market.app"), (DESK, "law.app")):
        wrong = c.decide("CaseTransferred", actor=actor, source_system=system)
        refused(wrong, Code.NOT_COMMAND_CENTRE, "only its command centre", system)
    assert isinstance(c.decide("CaseTransferred", actor=CENTRE), Accepted)


@pytest.mark.parametrize(
    ("actor", "system", "words"),
    [
        (("resident-1", "resident"), "grid.app", ["resident resident-1", "not a grid worker"]),
        ((WORKER_2, "grid_worker"), "grid.app", [WORKER_2, f"not assigned to grid {GRID}"]),
        ((WORKER, "grid_worker"), "grid.elsewhere", ["grid.elsewhere", OTHER_DISTRICT]),
    ],
)
def test_only_a_worker_of_the_cases_grid_verifies_it(
    actor: tuple[str, str], system: str, words: list[str]
) -> None:
    c = case(*IN_PROGRESS, "CaseResolved")
    refused(
        c.decide("CaseVerified", actor=actor, source_system=system), Code.NOT_GRID_WORKER, *words
    )
    assert isinstance(
        c.decide("CaseVerified", actor=(WORKER, "grid_worker"), source_system="grid.app"),
        Accepted,
    )


@pytest.mark.parametrize("system", ["grid.app", "unscoped.tool"])
def test_a_verification_needs_a_grid_worker_actor(system: str) -> None:
    # taken at its word or scoped to the case's district, a centre or a department is not a
    # worker of the grid, whatever worker the verification names
    c = case(*IN_PROGRESS, "CaseResolved")
    for actor in (CENTRE, DESK, ("resident-1", "resident")):
        wrong = c.decide("CaseVerified", actor=actor, source_system=system)
        refused(wrong, Code.NOT_GRID_WORKER, "is not a grid worker", actor[0], system)
    for worker in ((WORKER, "grid_worker"), (WORKER, "grid_leader")):
        assert isinstance(c.decide("CaseVerified", actor=worker, source_system=system), Accepted)


def test_anyone_reports_and_evaluates() -> None:
    resident = ("resident-1", "resident")
    c = Case(SCOPED)
    c.do("CaseReported", actor=resident, source_system="residentapp", channel="resident")
    for step in (*IN_PROGRESS, "CaseResolved", "CaseVerified", "CaseClosed"):
        c.do(step)
    assert isinstance(c.decide("CaseEvaluated", actor=resident, source_system="grid.app"), Accepted)


def test_a_verification_far_from_the_case_is_not_on_site() -> None:
    c = case(*IN_PROGRESS, "CaseResolved", location=CASE_AT)
    far = c.decide("CaseVerified", location=KM_NORTH)
    refused(far, Code.VERIFIED_OFF_SITE, "1000 m", "500 m")
    assert isinstance(c.decide("CaseVerified", location=NEAR), Accepted)


def test_a_verification_with_no_location_to_compare_is_not_judged() -> None:
    located = case(*IN_PROGRESS, "CaseResolved", location=CASE_AT)
    assert isinstance(located.decide("CaseVerified"), Accepted)
    unlocated = case(*IN_PROGRESS, "CaseResolved")
    assert isinstance(unlocated.decide("CaseVerified", location=KM_NORTH), Accepted)


def test_the_policy_in_force_says_how_far_is_on_site() -> None:
    wider = SCOPED.apply_all(
        [
            ev(
                "SlaPolicyDefined",
                policy_id="sla.default",
                version=2,
                limits=limits(),
                effective_from=date(2025, 3, 1),
                verify_distance_m=2000,
            )
        ]
    )
    c = case(*IN_PROGRESS, "CaseResolved", ref=wider, location=CASE_AT)
    assert isinstance(c.decide("CaseVerified", location=KM_NORTH), Accepted)
    assert REF.sla_policy("sla.default", date(2025, 3, 3)).verify_distance_m == 500  # type: ignore[union-attr]


def test_distances_on_the_ground() -> None:
    a, b = (29.94, 121.64), (30.94, 121.64)
    assert metres_between(a, a) == 0.0
    assert metres_between(a, b) == pytest.approx(111_195, rel=1e-3)  # a degree of latitude
    assert metres_between(a, b) == metres_between(b, a)
    assert metres_between((0.0, 0.0), (0.0, 180.0)) == pytest.approx(20_015_115, rel=1e-4)
