"""The dashboard's JSON API fuzzed from its own OpenAPI document (schemathesis, its default
checks): whatever the parameters, no 5xx, and every answer, problem details included, conforms
to the schema the API publishes. It runs against the served fortnight of ``dashboard``.

``/api/v1/live`` is left out: it is a Server-Sent Events stream that stays open until the client
goes away, so a fuzzer's request to it never completes; its behaviour is tested where a browser
reads it (tests/browser/test_live_pages.py).

One default check is narrowed, not dropped: schemathesis expects every schema-valid request to
be accepted, but some rules join two parameters, which OpenAPI cannot say (``at=2026-11`` is a
month, not a day; a count has no denominator ``part``). A schema-valid request may be refused
only by those rules, with problem details naming ``at`` or ``part``; any other 422 to one (the
framework's own validation disagreeing with the published schema) fails as before.
"""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

from projections.dashboard.app import create_app
from projections.dashboard.settings import DashboardSettings
from tests.integration.dashboard_helpers import Dashboard, dashboard
from tests.integration.helpers import fuzz_settings

__all__ = ["dashboard"]

EXAMPLES_PER_OPERATION = 25  # keeps the whole run near a minute on the shared machine

# The document is the app's own, made without serving it (no connection is opened), so that
# pytest can list one test per operation; the test checks the served document is the same.
# (schemathesis' lazy ``from_fixture`` loader reaches into pytest's private ``_nodeid``, which
# pytest 9 no longer has.)
OPENAPI = create_app(DashboardSettings()).openapi()
schema = schemathesis.openapi.from_dict(OPENAPI).exclude(path="/api/v1/live")
# Parameters whose validity depends on another one: `at` on `period`, `part` on `kpi`, a
# ranking's or a map's `level` on the `unit` it lies within, a track's `worker` on `unit`
# and its `day` on `at` (either names the worker, either the day).
JOINT_RULES = {"at", "part", "level", "worker", "day"}


def refused_only_by_joint_rules(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """A schema-valid request answered 422 names a parameter of a rule joining two."""
    if response.status_code != 422 or case.meta is None:
        return
    if not case.meta.generation.mode.is_positive:
        return
    body = response.json()
    assert body.get("parameter") in JOINT_RULES and body.get("title") != "invalid parameter", (
        f"a schema-valid request was refused: {body}"
    )


def test_the_served_document_is_the_one_fuzzed(dashboard: Dashboard) -> None:
    served = httpx.get(f"{dashboard.url}/openapi.json", timeout=30).json()
    assert served == OPENAPI
    assert "/api/v1/live" in served["paths"]


@schema.parametrize()  # type: ignore[misc]
@fuzz_settings(EXAMPLES_PER_OPERATION)
def test_the_api_answers_every_request_within_its_schema(
    case: schemathesis.Case, dashboard: Dashboard
) -> None:
    case.call_and_validate(
        base_url=dashboard.url,
        excluded_checks=[positive_data_acceptance],
        additional_checks=[refused_only_by_joint_rules],
    )


def test_a_wrong_method_is_told_the_allowed_ones(dashboard: Dashboard) -> None:
    r = httpx.request("TRACE", f"{dashboard.url}/api/v1/overview/tiles", timeout=30)
    assert r.status_code == 405
    assert r.headers["allow"] == "GET"
    assert r.headers["content-type"] == "application/problem+json"
