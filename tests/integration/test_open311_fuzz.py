"""The Open311 routes fuzzed from the gateway's OpenAPI document (schemathesis, its default
checks) on the real stack: whatever the forms, paths and query strings, no 5xx and every
answer within the published responses; afterwards every record on the inbox topics decodes
into a valid event of the contract, from the fuzzing app only.

The fuzzer's api_key is replaced by a resident app's, so its filings get past the key check,
and every other filing gets a service and a point in a grid we serve, so its other arguments
(description, media_url, addresses, personal data, as fuzzed) reach the inbox.
One default check is dropped: schemathesis expects every schema-valid request to be accepted,
but Open311's arguments are strings whose rules the document states in prose (w3 datetimes
with their zone, a point within a grid, lat and long together), which JSON Schema does not
carry; a request refused by them is answered 400 in Open311's form.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

from events.gateway.open311.settings import Open311Settings
from events.gateway.open311.states import NoCaseStates
from events.gateway.settings import GatewaySettings
from events.models import CaseReported
from infra.gateway_app import build_app
from tests.integration.gateway_helpers import GatewayWorld, Served
from tests.integration.helpers import fuzz_settings
from tests.integration.open311_helpers import (
    inside,
    open311_served,
    open311_world_fixture,  # noqa: F401 (a fixture)
    resident_key,
)
from tests.integration.workflow_helpers import city

EXAMPLES_PER_OPERATION = 40
APP = "fuzz.resident.app"
_filings = itertools.count()

OPENAPI = build_app(GatewaySettings(), Open311Settings(), NoCaseStates()).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI).include(path_regex="^/open311/")


@pytest.fixture(scope="module")
def fuzzed(world: GatewayWorld) -> Iterator[tuple[Served, str]]:
    served = open311_served(world, projection="open311_fuzz_none")
    yield served, resident_key(world, APP)
    events = world.inbox_events()  # after every fuzzed request: each decodes
    assert all(e.envelope.source_system == APP for e in events)


def test_the_served_document_is_the_one_fuzzed(fuzzed: tuple[Served, str]) -> None:
    served, _ = fuzzed
    assert httpx.get(f"{served.url}/openapi.json", timeout=30).json() == OPENAPI
    assert len(list(schema.get_all_operations())) == 5


@schema.parametrize()  # type: ignore[misc]
@fuzz_settings(EXAMPLES_PER_OPERATION)
def test_open311_answers_every_request_within_its_schema(
    case: schemathesis.Case,
    fuzzed: tuple[Served, str],
) -> None:
    served, key = fuzzed
    if isinstance(case.body, dict) and "api_key" in case.body:
        case.body["api_key"] = key
        if next(_filings) % 2:  # every other filing in a grid we serve, the rest as fuzzed
            lat, lon = inside(city()[0].grids[0])
            case.body.update(service_code="appearance", lat=str(lat), long=str(lon))
    case.call_and_validate(base_url=served.url, excluded_checks=[positive_data_acceptance])


def test_the_fuzzing_filed_valid_requests(world: GatewayWorld, fuzzed: tuple[Served, str]) -> None:
    """Some fuzzed filings reached the inbox (the check above is not vacuous), each a
    resident's CaseReported."""
    reports = [e for e in world.inbox_events() if isinstance(e, CaseReported)]
    assert reports and {r.channel for r in reports} == {"resident"}
