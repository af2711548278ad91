"""The gateway's API fuzzed from its own OpenAPI document (schemathesis, its default checks)
on the real stack, with a key of scope ``*``: whatever the bodies, headers and parameters, no
5xx and every answer within the published schema; afterwards every record on the inbox topics
decodes into a valid event of the contract, so nothing invalid got through.

``/v1/outcomes/stream`` is left out: a Server-Sent Events stream stays open until the client
goes away, so a fuzzer's request to it never completes (it is tested in
``test_gateway_outcomes``). One default check is dropped: schemathesis expects every
schema-valid body to be accepted, but some rules of the contract join two fields (a rejection
``duplicate`` needs ``duplicate_of``; an end not before its start), which JSON Schema cannot
say; a body refused by them is answered 422 naming the field, as any invalid body is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

from events.gateway.open311.settings import Open311Settings
from events.gateway.open311.states import NoCaseStates
from events.gateway.settings import GatewaySettings
from infra.gateway_app import build_app
from tests.integration.gateway_helpers import (
    GatewayWorld,
    Served,
    gateway_world_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.helpers import fuzz_settings

EXAMPLES_PER_OPERATION = 40

# The app ``fengqiao gateway`` serves; its Open311 routes are fuzzed in test_open311_fuzz.
OPENAPI = build_app(GatewaySettings(), Open311Settings(), NoCaseStates()).openapi()
schema = (
    schemathesis.openapi.from_dict(OPENAPI)
    .exclude(path="/v1/outcomes/stream")
    .exclude(path_regex="^/open311/")
)


@pytest.fixture(scope="module")
def fuzzed(world: GatewayWorld) -> Iterator[tuple[Served, str]]:
    served = world.serve()
    yield served, world.key("fuzz.app")[1]
    # After every fuzzed request: whatever reached the inboxes decodes into a valid event.
    events = world.inbox_events()
    assert all(e.envelope.source_system == "fuzz.app" for e in events)


def test_the_served_document_is_the_one_fuzzed(fuzzed: tuple[Served, str]) -> None:
    served, _ = fuzzed
    assert httpx.get(f"{served.url}/openapi.json", timeout=30).json() == OPENAPI


@schema.parametrize()  # type: ignore[misc]
@fuzz_settings(EXAMPLES_PER_OPERATION)
def test_the_api_answers_every_request_within_its_schema(
    case: schemathesis.Case, fuzzed: tuple[Served, str]
) -> None:
    served, key = fuzzed
    headers: dict[str, Any] = {"X-Api-Key": key}
    case.call_and_validate(
        base_url=served.url, headers=headers, excluded_checks=[positive_data_acceptance]
    )


def test_the_fuzzing_got_valid_events_through(
    world: GatewayWorld, fuzzed: tuple[Served, str]
) -> None:
    """The fuzzer's schema-valid bodies reached the inboxes: the check above is not vacuous."""
    assert world.inbox_events(), "no fuzzed submission was accepted"
