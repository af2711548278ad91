"""A web app whose PostgreSQL connections were cut (PostgreSQL restarted under it) answers
503 with Retry-After while it meets them, never a 500, and serves the retries again: the
pool drops each broken connection and opens a new one. Found by the fault suite (restart
PostgreSQL under load), where each pooled connection of the gateway answered one 500."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from events.problems import MEDIA_TYPE
from tests.integration.gateway_helpers import GatewayWorld, gateway_world, get

pytestmark = pytest.mark.integration
REQUESTS = 15  # more than the gateway's pooled connections (8 + 2 for keys) could fail


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest) -> Iterator[GatewayWorld]:
    yield from gateway_world(request)


def _cut(dsn: str, application: str) -> int:
    """Terminate every PostgreSQL connection of ``application``, as a restart would; how many."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application,),
        ).fetchall()
    return len(rows)


def test_the_gateway_answers_503_on_cut_connections_and_serves_the_retries(
    world: GatewayWorld,
) -> None:
    application = f"fq-outage-{world.name}"[:63]  # only this gateway's connections are cut
    served = world.serve(PGAPPNAME=application)
    _, key = world.key("dept.outage")
    for _ in range(3):  # the pools' connections in use
        assert get(served, key, "/v1/outcomes").status_code == 200
    assert _cut(world.dsn, application) > 0

    answers = [get(served, key, "/v1/outcomes") for _ in range(REQUESTS)]
    statuses = [a.status_code for a in answers]
    assert 500 not in statuses, statuses
    refused = [a for a in answers if a.status_code == 503]
    assert refused, statuses  # the cut was met
    first = refused[0]
    assert first.headers["content-type"] == MEDIA_TYPE
    assert first.headers["Retry-After"] == "1"
    assert first.json()["title"] == "database unavailable"
    assert "Traceback" not in first.text
    assert statuses[-3:] == [200, 200, 200], statuses  # served again
