"""An Open311 resident is a data subject by the pseudonym of their reports (``reporter_ref``):
after ``fengqiao erase <reporter_ref>`` nothing of theirs is readable in the gateway's tables,
another resident's data is untouched, and their requests (the cases) still answer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from events.models import CaseReported
from tests.integration.gateway_helpers import GatewayWorld, Served
from tests.integration.open311_helpers import (
    PERSONAL,
    inside,
    open311_served,
    open311_world_fixture,  # noqa: F401 (a fixture)
    resident_key,
)
from tests.integration.workflow_helpers import city

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
APP = "resident.app.erasure"
ERASED = PERSONAL
KEPT = {"first_name": "四海", "last_name": "李", "phone": "13900139000"}
# What a resident types about themselves into the request's own fields.
ERASED_TEXT = {"description": "我是王小明，住3号楼", "address_string": "王小明家门口", "media_url": "https://img.example.cn/wxm.jpg"}  # fmt: skip
KEPT_TEXT = {"description": "李四海报：路灯坏了", "address_string": "5号楼南侧"}


@pytest.fixture(scope="module")
def served(world: GatewayWorld) -> Served:
    return open311_served(world)


def _file(served: Served, key: str, **form: str) -> str:
    lat, lon = inside(city()[0].grids[0])
    data = {"api_key": key, "service_code": "appearance", "lat": str(lat), "long": str(lon)}
    r = httpx.post(f"{served.url}/open311/v2/requests.json", data=data | form, timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()[0]["service_request_id"])


def _erase(world: GatewayWorld, subject: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", "erase", subject, "--reason", "NB-7", "--by", "op-7"],
        env=world.env(FQ_PRIVACY_SCHEMA=f"{world.schema}_keys", **env),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
        check=False,
    )


def _gateway_text(world: GatewayWorld) -> str:
    """Every row of every table of the gateway's schema, as text."""
    with world.conn() as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (world.schema,),
            )
        ]
        assert "open311_reporters" in tables and "open311_requests" in tables
        return "\n".join(
            str(row[0])
            for table in tables
            for row in conn.execute(
                sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(table))
            )
        )


def test_erasing_an_open311_resident_leaves_nothing_of_theirs_in_the_gateway(
    world: GatewayWorld, served: Served
) -> None:
    key = resident_key(world, APP)
    theirs = [_file(served, key, **ERASED, **ERASED_TEXT), _file(served, key, **ERASED)]
    other = _file(served, key, **KEPT, **KEPT_TEXT)
    reports = {e.case_id: e for e in world.inbox_events() if isinstance(e, CaseReported)}
    subject = reports[theirs[0]].reporter_ref
    assert subject is not None and reports[theirs[1]].reporter_ref == subject
    before = _gateway_text(world)
    for value in [*ERASED.values(), *ERASED_TEXT.values(), *KEPT.values(), *KEPT_TEXT.values()]:
        assert value in before, value

    erased = _erase(world, subject)
    assert erased.returncode == 0, erased.stderr
    assert "erased the contact and text of 2 Open311 request(s)" in erased.stderr

    after = _gateway_text(world)
    for value in [*ERASED.values(), *ERASED_TEXT.values()]:
        assert value not in after, value
    for value in [*KEPT.values(), *KEPT_TEXT.values()]:
        assert value in after, value
    # Their requests are still cases the app can follow, without what they typed.
    for case_id in theirs:
        r = httpx.get(f"{served.url}/open311/v2/requests/{case_id}.json", timeout=30)
        assert r.status_code == 200, r.text
        (request,) = r.json()
        assert request["service_code"] == "appearance" and request["status"] == "open"
        assert request.get("description") in (None, "") and request.get("media_url") is None
    (kept,) = httpx.get(f"{served.url}/open311/v2/requests/{other}.json", timeout=30).json()
    assert kept["description"] == KEPT_TEXT["description"]

    again = _erase(world, subject)
    assert again.returncode == 0, again.stderr
    assert "erased the contact and text of 0 Open311 request(s)" in again.stderr


def test_a_gateway_schema_without_open311_erases_nothing_there(world: GatewayWorld) -> None:
    erased = _erase(world, "resident-none", FQ_GATEWAY_SCHEMA=f"{world.schema}_none")
    assert erased.returncode == 0, erased.stderr
    assert "erased the contact and text of 0 Open311 request(s)" in erased.stderr


def test_open311_tables_postgresql_refuses_fail_the_erasure_naming_them(
    world: GatewayWorld,
) -> None:
    broken = f"{world.schema}_broken"
    with psycopg.connect(world.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(broken)))
        # an older shape of the table, without the pseudonym column
        conn.execute(
            sql.SQL("CREATE TABLE {}.open311_reporters (service_request_id text)").format(
                sql.Identifier(broken)
            )
        )
    try:
        erased = _erase(world, "resident-x", FQ_GATEWAY_SCHEMA=broken)
        assert erased.returncode == 1, erased.stderr
        assert f"Open311 tables (PostgreSQL schema {broken})" in " ".join(erased.stderr.split())
        assert "reporter_ref" in erased.stderr and "Traceback" not in erased.stderr
    finally:
        with psycopg.connect(world.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(broken)))
