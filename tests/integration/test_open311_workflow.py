"""End to end, as a resident's app sees it: an Open311 client written from the GeoReport v2
specification alone (JSON, form-encoded POST, nothing of Fengqiao's) files a request through
``fengqiao gateway``; the real ``fengqiao process`` decides it and the case's later steps, the
real ``fengqiao project`` projects them, and the client follows the request from open to
closed with the department handling it and its deadline."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bench.common import stop_process
from events.models import CaseEvent, DepartmentDefined
from tests.integration.gateway_helpers import PROJECT_ROOT, GatewayWorld, Served
from tests.integration.open311_helpers import (
    DESCRIPTION,
    inside,
    open311_served,
    resident_key,
)
from tests.integration.projection_helpers import ProjectionWorld, wait_for
from tests.integration.workflow_helpers import (
    WorkflowRun,
    city,
    start_in_city,
    workflow_run_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.workflow_world import DEPARTMENT, lifecycle

pytestmark = pytest.mark.integration


@dataclass
class GeoReportClient:
    """What an app for another city would do, from the spec: JSON resources under an
    endpoint, requests posted form-encoded with an api_key, ids and times as given."""

    endpoint: str
    api_key: str
    jurisdiction_id: str

    def _get(self, resource: str, **params: str) -> Any:
        r = httpx.get(
            f"{self.endpoint}/{resource}.json",
            params={"jurisdiction_id": self.jurisdiction_id, **params},
            timeout=30,
        )
        r.raise_for_status()
        assert r.headers["content-type"].startswith("application/json")
        return r.json()

    def services(self) -> list[dict[str, Any]]:
        services: list[dict[str, Any]] = self._get("services")
        return services

    def create(self, service_code: str, lat: float, long: float, **optional: str) -> str:
        form = {
            "api_key": self.api_key,
            "jurisdiction_id": self.jurisdiction_id,
            "service_code": service_code,
            "lat": f"{lat:.8f}",
            "long": f"{long:.8f}",
            **optional,
        }
        r = httpx.post(f"{self.endpoint}/requests.json", data=form, timeout=30)
        r.raise_for_status()
        (created,) = r.json()
        assert "token" not in created  # a realtime service answers its id at once
        service_request_id: str = created["service_request_id"]
        return service_request_id

    def request(self, service_request_id: str) -> dict[str, Any]:
        (found,) = self._get(f"requests/{service_request_id}")
        request: dict[str, Any] = found
        return request


@pytest.fixture
def pipeline(
    workflow_run: Callable[..., WorkflowRun], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WorkflowRun, GatewayWorld, Served]]:
    run = start_in_city(workflow_run())
    projection = ProjectionWorld(run.connection, run.app_id)
    gateway = GatewayWorld(run.connection, run.app_id, tmp_path_factory.mktemp("open311"))
    log = (tmp_path_factory.mktemp("project") / "project.log").open("wb")
    projector = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "project"],
        env=projection.env(FQ_PROJECTOR_MAX_WAIT_S="0.2"),
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        served = open311_served(gateway, projection=projection.settings.projection)
        yield run, gateway, served
    finally:
        stop_process(projector)  # type: ignore[arg-type]
        log.close()
        gateway.cleanup()
        projection.cleanup()


def later_steps(case_id: str, at: datetime) -> list[CaseEvent]:
    """The case's steps after its report (accept … close), all happening at ``at``."""
    steps = lifecycle(case_id)[1:7]
    return [
        s.model_copy(
            update={
                "envelope": s.envelope.model_copy(update={"event_time": at, "recorded_time": at})
            }
        )
        for s in steps
    ]


def test_a_resident_app_files_a_request_and_follows_it_to_closed(
    pipeline: tuple[WorkflowRun, GatewayWorld, Served],
) -> None:
    run, gateway, served = pipeline
    client = GeoReportClient(
        f"{served.url}/open311/v2", resident_key(gateway, "resident.app"), "ningbo.gov.cn"
    )
    codes = {s["service_code"]: s for s in client.services()}
    assert codes["appearance"]["type"] == "realtime"
    lat, long = inside(city()[0].grids[0])
    case_id = client.create("appearance", lat, long, description=DESCRIPTION, phone="13800138000")

    filed = client.request(case_id)
    assert (filed["status"], filed["service_code"]) == ("open", "appearance")
    requested = datetime.fromisoformat(filed["requested_datetime"])

    department = next(
        e.name for e in city()[1] if isinstance(e, DepartmentDefined) and e.code == DEPARTMENT
    )
    steps = later_steps(case_id, datetime.now(UTC))
    run.submit(steps[:2])  # accepted and dispatched to the department

    def dispatched() -> bool:
        return bool(client.request(case_id)["agency_responsible"] == department)

    wait_for(dispatched, 90, "the dispatched case through Open311")
    open_now = client.request(case_id)
    assert open_now["status"] == "open" and open_now["status_notes"] == "已派遣至承办部门"
    assert open_now["expected_datetime"] is not None
    expected = datetime.fromisoformat(open_now["expected_datetime"])
    assert expected > requested
    assert datetime.fromisoformat(open_now["updated_datetime"]) >= requested

    run.submit(steps[2:])  # claimed, resolved, verified, closed
    wait_for(lambda: client.request(case_id)["status"] == "closed", 90, "the closed case")
    closed = client.request(case_id)
    assert closed["agency_responsible"] == department
    assert closed["status_notes"] == "已结案"
    closed_at = steps[-1].envelope.event_time.replace(microsecond=0)  # w3: whole seconds
    assert datetime.fromisoformat(closed["updated_datetime"]) == closed_at
    assert closed["expected_datetime"] is not None
    listed = httpx.get(
        f"{served.url}/open311/v2/requests.json", params={"status": "closed"}, timeout=30
    ).json()
    assert [r["service_request_id"] for r in listed] == [case_id]
