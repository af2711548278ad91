"""An Open311 test's world: a gateway world with the tiny city's reference data on its log,
a resident app's key, and the spec's XML read back into plain values."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import httpx
import pytest

from events.gateway.credentials import CredentialStore
from events.models import PlaceDefined, PlaceLevel
from events.topics import REFERENCE_EVENTS
from tests.integration.gateway_helpers import GatewayWorld, Served, gateway_world
from tests.integration.projection_helpers import wait_for
from tests.integration.workflow_helpers import city

__all__ = [
    "DESCRIPTION",
    "PERSONAL",
    "inside",
    "open311_served",
    "open311_world",
    "open311_world_fixture",
    "resident_key",
    "services_ready",
    "xml_rows",
]

DESCRIPTION = "小区门口流动摊贩占道经营，晚上尤其严重。"
PERSONAL = {  # a resident's details, as an app sends them
    "first_name": "小明",
    "last_name": "王",
    "phone": "13800138000",
    "email": "wang.xm@example.cn",
    "device_id": "device-7f3a",
    "account_id": "acct-42",
}


def open311_world(request: pytest.FixtureRequest) -> Iterator[GatewayWorld]:
    """A gateway world with the tiny city's reference data on its canonical reference log;
    removed when the generator closes."""
    for world in gateway_world(request):
        world.write(REFERENCE_EVENTS, city()[1])
        yield world


@pytest.fixture(name="world", scope="module")
def open311_world_fixture(request: pytest.FixtureRequest) -> Iterator[GatewayWorld]:
    """The test module's Open311 world (``open311_world``)."""
    yield from open311_world(request)


def open311_served(world: GatewayWorld, projection: str = "open311_none", **env: str) -> Served:
    """``fengqiao gateway`` served over ``world`` on a free port, once it lists the services; by
    default over a projection with no read models, so every request reads open."""
    served = world.serve(FQ_PROJECTION=projection, **env)
    services_ready(served)
    return served


def resident_key(world: GatewayWorld, system: str, kind: str = "resident_app") -> str:
    with world.conn() as conn:
        return CredentialStore(conn).create(system, ["*"], ["*"], ["*"], kind=kind).key


def inside(grid: str) -> tuple[float, float]:
    """(lat, long) of the centre of ``grid``'s boundary (a convex quadrilateral)."""
    _, events = city()
    (place,) = [e for e in events if isinstance(e, PlaceDefined) and e.code == grid]
    assert place.level == PlaceLevel.grid and place.boundary
    points = place.boundary
    return (
        sum(p.lat for p in points) / len(points),
        sum(p.lon for p in points) / len(points),
    )


def services_ready(served: Served) -> None:
    """Wait until the gateway has read the services (its book reads the log once started)."""

    def listed() -> bool:
        r = httpx.get(f"{served.url}/open311/v2/services.json", timeout=10)
        return r.status_code == 200 and len(r.json()) > 0

    wait_for(listed, 30, "the services")


def xml_rows(text: bytes, root: str, item: str) -> list[dict[str, str | None]]:
    """The ``<item>`` elements of a ``<root>`` document, each as {child tag: text}; fails
    unless the document is the spec's (declared utf-8, no namespace)."""
    assert text.startswith(b'<?xml version="1.0" encoding="utf-8"?>'), text[:60]
    element = ElementTree.fromstring(text)
    assert element.tag == root, element.tag
    rows = []
    for child in element:
        assert child.tag == item, child.tag
        rows.append({c.tag: c.text for c in child})
    return rows
