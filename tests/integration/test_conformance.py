"""``fengqiao conformance`` as an integrator runs it, on the real stack: the shipped fixtures
pass, a wrong expectation fails the run and names its sample, a system's credential scopes the
samples as the gateway's 403 would, a malformed file names its line, and every sandbox's topics
are gone afterwards, whether it ran to the end or failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

import events.conformance
from events.gateway.credentials import CredentialStore
from events.gateway.database import ensure_schema
from events.outcomes import OutcomeTimeout
from infra.conformance import Sandbox, SandboxError, sandbox_reference
from infra.demo_children import ChildDied
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import admin_client

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(events.conformance.__file__).parent / "fixtures"
G1 = "haishu-s001-v01-g01"


@pytest.fixture(name="credentials_schema")
def credentials_schema_fixture(
    connection_settings: ConnectionSettings, unique_name: Callable[[str], str]
) -> Iterator[str]:
    """A gateway schema of the test's own, for the credentials the kit looks up."""
    schema = unique_name("kit")
    dsn = connection_settings.pg_dsn.get_secret_value()
    ensure_schema(dsn, schema)
    yield schema
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def kit(
    connection: ConnectionSettings,
    schema: str,
    system: str,
    file: Path,
    *more: str,
    dsn: str | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "FQ_KAFKA_BOOTSTRAP": connection.kafka_bootstrap,
        "FQ_REGISTRY_URL": connection.registry_url,
        "FQ_PG_DSN": dsn or connection.pg_dsn.get_secret_value(),
        "FQ_GATEWAY_SCHEMA": schema,
        "COLUMNS": "200",
    }
    if "FQ_KAFKA_LOCAL_DIR" in os.environ:  # the session's stack's principals
        env["FQ_KAFKA_LOCAL_DIR"] = os.environ["FQ_KAFKA_LOCAL_DIR"]
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", "conformance", system, str(file), *more],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def topics_under(connection: ConnectionSettings, prefix: str) -> list[str]:
    names = admin_client(connection.kafka_bootstrap).list_topics(timeout=30).topics
    return [t for t in names if t.startswith(prefix)]


def test_the_shipped_fixtures_get_the_answers_they_expect(
    connection_settings: ConnectionSettings, credentials_schema: str, tmp_path: Path
) -> None:
    every = tmp_path / "every.ndjson"  # one sandbox for all of them: their ids do not collide
    every.write_bytes(b"\n".join(p.read_bytes() for p in sorted(FIXTURES.glob("*.ndjson"))))
    started = time.monotonic()
    done = kit(connection_settings, credentials_schema, "kit.fixtures", every, "--json")
    took = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] and all(s["passed"] for s in report["samples"])
    kinds = {s["answer"]["kind"] for s in report["samples"]}
    assert kinds == {"accepted", "rejected", "invalid"}
    accepted = [s for s in report["samples"] if s["answer"]["kind"] == "accepted"]
    assert all(isinstance(s["answer"]["sequence"], int) for s in accepted)
    invalid = [s for s in report["samples"] if s["answer"]["kind"] == "invalid"]
    assert all(e["field"] and e["rule"] for s in invalid for e in s["answer"]["errors"])
    assert "has no credential" in done.stderr and "seeding the reference data" in done.stderr
    assert topics_under(connection_settings, report["sandbox"]) == []
    print(f"{len(report['samples'])} samples in {took:.1f} s: {report['timings_s']}")


def sample(expect: str | None, event_type: str, event_id: str, **fields: Any) -> dict[str, Any]:
    envelope = {
        "event_id": event_id,
        "event_time": "2025-06-10T09:00:00+08:00",
        "actor": {"id": f"w-{G1}-1", "role": "grid_worker"},
    }
    body = {"event_type": event_type, "envelope": envelope, **fields}
    return body if expect is None else {"expect": expect, **body}


def report(case_id: str, event_id: str, expect: str | None) -> dict[str, Any]:
    return sample(
        expect,
        "CaseReported",
        event_id,
        case_id=case_id,
        grid_id=G1,
        category_code="appearance",
        priority="normal",
        title="占道经营",
        description="小区门口流动摊贩占道经营。",
        channel="grid_visit",
    )


def test_a_credential_scopes_the_samples_and_a_wrong_expectation_fails_the_run(
    connection_settings: ConnectionSettings, credentials_schema: str, tmp_path: Path
) -> None:
    system = f"dept.kit-{uuid.uuid4().hex[:6]}"
    dsn = connection_settings.pg_dsn.get_secret_value()
    options = f"-c search_path={credentials_schema}"
    with psycopg.connect(dsn, autocommit=True, options=options) as conn:
        issued = CredentialStore(conn).create(
            system, ["CaseReported", "PlaceDefined"], ["*"], ["haishu"]
        )
    samples = [
        report("kit-scope-1", "kit-scope-1-reported", None),
        sample(
            "forbidden:event_types",
            "CaseClaimed",
            "kit-scope-1-claimed",
            case_id="kit-scope-1",
            department_code="law-enforcement",
        ),
        sample(
            "forbidden:districts",
            "PlaceDefined",
            "kit-scope-district",
            code="kit-east",
            level="district",
            name="东区",
            parent_code="nb",
            effective_from="2025-05-01",
        ),
        report("kit-scope-2", "kit-scope-2-reported", "rejected:CASE_EXISTS"),
    ]
    file = tmp_path / "scoped.json"  # a JSON array this time
    file.write_text(json.dumps(samples, ensure_ascii=False, indent=1), encoding="utf-8")
    done = kit(connection_settings, credentials_schema, system, file, "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert [s["passed"] for s in result["samples"]] == [True, True, True, False]
    wrong = result["samples"][3]
    assert wrong["sample"] == "item 4" and wrong["answer"]["kind"] == "accepted"
    assert "1 not (item 4)" in done.stderr and issued.key_id in done.stderr
    forbidden = result["samples"][1]["answer"]
    assert forbidden["status"] == 403 and "may not submit CaseClaimed" in forbidden["message"]
    assert topics_under(connection_settings, result["sandbox"]) == []

    table = kit(connection_settings, credentials_schema, system, file)  # the terminal's table
    assert table.returncode == 1
    assert "NOT EXPECTED" in table.stdout and "item 4" in table.stdout


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b'{"event_type": "CaseClosed"}\n\n{"event_type": "CaseClosed",\n', "line 3"),
        (b'[\n {"event_type": "CaseClosed"}\n {"event_type": "CaseClosed"}\n]', "line 3"),
        (b'{"event_type": "CaseClosed", "expect": "perhaps"}\n', "line 1"),
    ],
)
def test_a_malformed_file_is_an_error_naming_its_line(
    connection_settings: ConnectionSettings,
    credentials_schema: str,
    tmp_path: Path,
    content: bytes,
    where: str,
) -> None:
    file = tmp_path / "bad.ndjson"
    file.write_bytes(content)
    done = kit(connection_settings, credentials_schema, "kit.bad", file)
    assert done.returncode == 1 and done.stdout == ""
    assert f"SampleFileError: {where}:" in done.stderr
    assert "sandbox" not in done.stderr  # refused before any sandbox was made


def test_credentials_that_cannot_be_read_are_an_error_before_any_sandbox(
    connection_settings: ConnectionSettings, credentials_schema: str
) -> None:
    down = "postgresql://fengqiao:fengqiao@127.0.0.1:1/fengqiao?connect_timeout=2"
    fixture = FIXTURES / "visit.ndjson"
    done = kit(connection_settings, credentials_schema, "kit.nopg", fixture, dsn=down)
    assert done.returncode == 1 and done.stdout == ""
    assert "SandboxError: cannot read the credentials of kit.nopg" in done.stderr
    assert "starting the workflow worker" not in done.stderr


def test_a_sandbox_whose_worker_dies_says_so_and_leaves_no_topic(
    connection_settings: ConnectionSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FQ_SESSION_TIMEOUT_S", "-1")  # a worker that refuses its settings
    sandbox = Sandbox("kit.dies", connection_settings)
    with pytest.raises(ChildDied) as died, sandbox:
        pass
    assert "FQ_SESSION_TIMEOUT_S" in str(died.value)
    assert topics_under(connection_settings, sandbox.prefix) == []


def test_outcomes_that_do_not_come_in_time_fail_the_sandbox_and_leave_no_topic(
    connection_settings: ConnectionSettings,
) -> None:
    sandbox = Sandbox("kit.slow", connection_settings, timeout_s=0.01)
    with pytest.raises(SandboxError, match="without the workflow's outcome") as failed, sandbox:
        pass
    assert isinstance(failed.value.__cause__, OutcomeTimeout)
    assert topics_under(connection_settings, sandbox.prefix) == []


def test_refused_reference_data_fails_the_sandbox(
    connection_settings: ConnectionSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = sandbox_reference()
    last = seeded[-1]  # a worker assignment: given first, its grid is not in force yet
    envelope = last.envelope.model_copy(update={"event_id": f"kit-orphan-{uuid.uuid4()}"})
    orphan = last.model_copy(update={"envelope": envelope})
    monkeypatch.setattr("infra.conformance.sandbox_reference", lambda: [orphan, *seeded])
    sandbox = Sandbox("kit.refused", connection_settings)
    refused = "reference data was refused: GRID_NOT_EFFECTIVE"
    with pytest.raises(SandboxError, match=refused), sandbox:
        pass
    assert topics_under(connection_settings, sandbox.prefix) == []
