"""Every 401 and 403 of the gateway: no key, a malformed, unknown, mistyped, revoked or
expired key (a rotated key's grace run out); an event type, a department or a district
outside the credential's scope, the district found from the event's grid in the place tree
read from the reference log. Every refusal is logged with the system and the reason."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from events.gateway.credentials import CredentialStore
from events.topics import REFERENCE_EVENTS
from tests.factories import example_event
from tests.integration.gateway_helpers import (
    GatewayWorld,
    Served,
    gateway_world_fixture,  # noqa: F401 (a fixture)
    post,
    submission,
)

SYSTEM = "dept.market-supervision.app"
DAY0 = date(2025, 1, 1)
# Two districts of one city, a grid in each; the factories' grid lies in the first.
PLACES = [
    ("3302", "city", None),
    ("330206", "district", "3302"),
    ("330211", "district", "3302"),
    ("330206001", "street", "330206"),
    ("330206001001", "village", "330206001"),
    ("330206001001001", "grid", "330206001001"),
    ("330211001", "street", "330211"),
    ("330211001001", "village", "330211001"),
    ("330211001001001", "grid", "330211001001"),
]


@pytest.fixture(scope="module")
def served(world: GatewayWorld) -> Served:
    places = [
        example_event(
            "PlaceDefined",
            code=code,
            level=level,
            parent_code=parent,
            name=code,
            effective_from=DAY0,
            boundary=None,
        )
        for code, level, parent in PLACES
    ]
    world.write(REFERENCE_EVENTS, places)
    return world.serve()


@pytest.fixture(scope="module")
def scoped(world: GatewayWorld) -> str:
    """A key that may claim and resolve, and report, for market supervision in 330206."""
    return world.key(
        SYSTEM,
        events=("CaseReported", "CaseClaimed", "VisitRecorded"),
        departments=("dept.market-supervision",),
        districts=("330206",),
    )[1]


def test_a_request_without_a_key_is_401_and_logged(world: GatewayWorld, served: Served) -> None:
    r = httpx.post(f"{served.url}/v1/events", json=submission(), timeout=30)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"] == "application/problem+json"
    assert "detail_zh" in r.json()
    assert "refused POST /v1/events: no key" in served.log.read_text()


@pytest.mark.parametrize(
    "make",
    [
        lambda key: "not-a-key",
        lambda key: "fq_0123456789abcdef." + "x" * 43,  # well formed, unknown key id
        lambda key: key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb"),  # mistyped
    ],
    ids=["malformed", "unknown", "wrong-secret"],
)
def test_a_key_that_is_not_valid_is_401(served: Served, scoped: str, make) -> None:  # type: ignore[no-untyped-def]
    bad = make(scoped)
    for headers in ({"Authorization": f"Bearer {bad}"}, {"X-Api-Key": bad}):
        r = httpx.post(f"{served.url}/v1/events", json=submission(), headers=headers, timeout=30)
        assert r.status_code == 401, r.text
    assert "is not valid" in served.log.read_text()


def test_a_revoked_key_is_401_at_once(world: GatewayWorld, served: Served) -> None:
    key_id, key = world.key(SYSTEM)
    assert post(served, key, "/v1/events", submission()).status_code == 202
    with world.conn() as conn:
        CredentialStore(conn).revoke(key_id)
    assert post(served, key, "/v1/events", submission()).status_code == 401
    assert f"key {key_id} is not valid" in served.log.read_text()


def test_a_rotated_key_is_valid_through_its_grace_and_then_401(
    world: GatewayWorld, served: Served
) -> None:
    key_id, old = world.key(SYSTEM)
    with world.conn() as conn:
        new = CredentialStore(conn).rotate(key_id, timedelta(hours=1))
    for key in (old, new.key):
        assert post(served, key, "/v1/events", submission()).status_code == 202
    with world.conn() as conn:
        conn.execute("UPDATE credentials SET expires_at = now() WHERE key_id = %s", (key_id,))
    assert post(served, old, "/v1/events", submission()).status_code == 401
    assert post(served, new.key, "/v1/events", submission()).status_code == 202


def test_either_header_carries_the_key(served: Served, scoped: str) -> None:
    for headers in ({"Authorization": f"Bearer {scoped}"}, {"X-Api-Key": scoped}):
        r = httpx.post(f"{served.url}/v1/events", json=submission(), headers=headers, timeout=30)
        assert r.status_code == 202, r.text


def test_every_route_asks_for_a_key(served: Served) -> None:
    for method, path in [
        ("POST", "/v1/events/batch"),
        ("GET", "/v1/submissions/x"),
        ("GET", "/v1/outcomes"),
        ("GET", "/v1/outcomes/stream"),
    ]:
        assert httpx.request(method, f"{served.url}{path}", timeout=30).status_code == 401


def _refused(served: Served, key: str, body: dict[str, object], scope: str) -> None:
    r = post(served, key, "/v1/events", body)
    assert r.status_code == 403, r.text
    problem = r.json()
    assert (problem["title"], problem["parameter"]) == ("outside your scope", scope)
    assert problem["detail_zh"]
    event_id = body["envelope"]["event_id"]  # type: ignore[index]
    assert f"{event_id} of {SYSTEM}: {scope} scope" in served.log.read_text()


def test_an_event_type_outside_the_scope_is_403(served: Served, scoped: str) -> None:
    _refused(served, scoped, submission("CaseResolved"), "event_types")


def test_a_department_outside_the_scope_is_403(served: Served, scoped: str) -> None:
    _refused(
        served, scoped, submission("CaseClaimed", department_code="dept.housing"), "departments"
    )
    ok = submission("CaseClaimed", department_code="dept.market-supervision")
    assert post(served, scoped, "/v1/events", ok).status_code == 202


def test_a_grid_in_another_district_is_403(served: Served, scoped: str) -> None:
    _refused(served, scoped, submission(grid_id="330211001001001"), "districts")
    _refused(served, scoped, submission("VisitRecorded", grid_id="330211001001001"), "districts")
    assert post(served, scoped, "/v1/events", submission()).status_code == 202


def test_a_grid_in_no_known_district_is_403(served: Served, scoped: str) -> None:
    _refused(served, scoped, submission(grid_id="999999999999999"), "districts")


def test_a_batch_answers_a_refused_item_403_and_sends_the_others(
    world: GatewayWorld, served: Served, scoped: str
) -> None:
    good, bad = submission(), submission("CaseResolved")
    r = post(served, scoped, "/v1/events/batch", {"events": [bad, good]})
    assert [i["status"] for i in r.json()["results"]] == [403, 202]
    assert r.json()["results"][0]["problem"]["parameter"] == "event_types"
    ids = {e.envelope.event_id for e in world.inbox_events()}
    assert good["envelope"]["event_id"] in ids
    assert bad["envelope"]["event_id"] not in ids


@pytest.mark.parametrize(
    "headers",
    [
        lambda key: {"Authorization": f"Basic {key}", "X-Api-Key": key},
        lambda key: {"Authorization": f"Bearer {key}", "X-Api-Key": key[:-1] + "x"},
    ],
    ids=["not-bearer", "two-keys"],
)
def test_a_second_header_that_is_wrong_is_401_not_passed_over(
    served: Served, scoped: str, headers
) -> None:  # type: ignore[no-untyped-def]
    r = httpx.post(
        f"{served.url}/v1/events", json=submission(), headers=headers(scoped), timeout=30
    )
    assert r.status_code == 401
