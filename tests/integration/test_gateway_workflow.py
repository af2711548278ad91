"""End to end: submissions posted to the gateway, decided by the real ``fengqiao process``,
and their outcomes read back through the gateway (its status route and its outcomes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from events.models import CaseClaimed, CaseReported
from tests.integration.gateway_helpers import (
    GatewayWorld,
    as_submission,
    get,
    post,
)
from tests.integration.projection_helpers import wait_for
from tests.integration.workflow_helpers import (
    WorkflowRun,
    start_in_city,
    workflow_run_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.workflow_world import lifecycle

pytestmark = pytest.mark.integration


@pytest.fixture
def world(
    workflow_run: Callable[..., WorkflowRun], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WorkflowRun, GatewayWorld]]:
    run = start_in_city(workflow_run())
    gateway = GatewayWorld(run.connection, run.app_id, tmp_path_factory.mktemp("gateway"))
    try:
        yield run, gateway
    finally:
        gateway.cleanup()


def test_the_workflows_answers_reach_the_submitter_through_the_gateway(
    world: tuple[WorkflowRun, GatewayWorld],
) -> None:
    _, gateway = world
    served = gateway.serve()
    key = gateway.key("gridapp")[1]
    report = lifecycle("case-gw-e2e-1")[0]
    assert isinstance(report, CaseReported)
    orphan = lifecycle("case-gw-e2e-never-reported")[3]
    assert isinstance(orphan, CaseClaimed)
    ids = []
    for event in (report, orphan):
        r = post(served, key, "/v1/events", as_submission(event))
        assert r.status_code == 202, r.text
        ids.append(r.json()["event_id"])

    def answered() -> bool:
        return all(
            get(served, key, f"/v1/submissions/{i}").json()["status"] != "pending" for i in ids
        )

    wait_for(answered, 90, "the workflow's outcomes through the gateway")
    accepted = get(served, key, f"/v1/submissions/{ids[0]}").json()
    assert (accepted["status"], accepted["sequence"]) == ("accepted", 1)
    rejected = get(served, key, f"/v1/submissions/{ids[1]}").json()
    assert rejected["status"] == "rejected" and rejected["code"]
    page = get(served, key, "/v1/outcomes").json()
    # In the order the workflow decided them: two cases' submissions sit on different inbox
    # partitions, so the orphan's refusal may come first.
    assert sorted(o["event_id"] for o in page["outcomes"]) == sorted(ids)
