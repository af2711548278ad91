"""``fengqiao credentials create | list | rotate | revoke`` as an operator runs them: the key
printed once on stdout and stored only hashed, the scope published as ``SourceSystemDefined``
on the reference inbox, a rotation's grace, a revocation, and the errors of each."""

from __future__ import annotations

import subprocess
import sys

import pytest

from events.gateway.credentials import CredentialStore
from events.models import SourceSystemDefined
from events.topics import REFERENCE_INBOX
from tests.integration.gateway_helpers import (
    PROJECT_ROOT,
    GatewayWorld,
    gateway_world_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.helpers import read_topic


def cli(world: GatewayWorld, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", "credentials", *args],
        env=world.env(COLUMNS="200"),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_create_prints_the_key_once_stores_its_hash_and_publishes_the_scope(
    world: GatewayWorld,
) -> None:
    made = cli(
        world,
        "create",
        "--system",
        "dept.fire.app",
        "--events",
        "CaseClaimed, CaseResolved",
        "--departments",
        "dept.fire",
        "--districts",
        "330206,330211",
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("fq_") and "shown once" in made.stderr
    with world.conn() as conn:
        found = CredentialStore(conn).verify(key)
        stored = conn.execute("SELECT secret_hash FROM credentials").fetchall()
    assert found is not None and found.system == "dept.fire.app"
    assert found.scope.event_types == ("CaseClaimed", "CaseResolved")
    assert found.scope.districts == ("330206", "330211")
    assert all(key.split(".")[1].encode() not in bytes(row[0]) for row in stored)
    records = read_topic(world.connection.kafka_bootstrap, world.topic(REFERENCE_INBOX))
    (event,) = [world.codec.decode(r.value, r.topic, r.partition, r.offset) for r in records]
    assert isinstance(event, SourceSystemDefined)
    assert (event.system, event.departments) == ("dept.fire.app", ("dept.fire",))


def test_list_rotate_and_revoke(world: GatewayWorld) -> None:
    made = cli(
        world,
        "create",
        "--system",
        "resident.app",
        "--kind",
        "resident_app",
        "--events",
        "CaseReported",
        "--departments",
        "*",
        "--districts",
        "*",
        "--no-publish",
    )
    old = made.stdout.strip()
    old_id = old[3:19]
    rotated = cli(world, "rotate", old_id, "--grace", "2h")
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip()
    with world.conn() as conn:
        store = CredentialStore(conn)
        assert store.verify(old) is not None and store.verify(new) is not None
        fresh = store.verify(new)
        assert fresh is not None and fresh.kind == "resident_app"
    listed = cli(world, "list", "--system", "resident.app")
    assert old_id in listed.stdout and "expires" in listed.stdout and "valid" in listed.stdout
    assert new not in listed.stdout  # never a secret
    assert cli(world, "revoke", old_id).returncode == 0
    assert "revoked" in cli(world, "list", "--system", "resident.app").stdout
    with world.conn() as conn:
        assert CredentialStore(conn).verify(old) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("revoke", "0123456789abcdef"), "no key 0123456789abcdef to revoke"),
        (("rotate", "0123456789abcdef"), "no valid key 0123456789abcdef to rotate"),
        (("rotate", "0123456789abcdef", "--grace", "soon"), "give a number with s, m, h or d"),
        (
            ("create", "--system", "x", "--events", "", "--departments", "*", "--districts", "*"),
            "give the event types",
        ),
        (
            ("create", "--system", "x", "--events", "*", "--departments", "*", "--districts", "*")
            + ("--kind", "robot", "--no-publish"),
            "kind must be one of",
        ),
    ],
)
def test_what_cannot_be_done_is_said_and_exits_non_zero(
    world: GatewayWorld, args: tuple[str, ...], message: str
) -> None:
    published = len(read_topic(world.connection.kafka_bootstrap, world.topic(REFERENCE_INBOX)))
    result = cli(world, *args)
    assert result.returncode != 0
    assert message in " ".join(result.stderr.split())
    after = read_topic(world.connection.kafka_bootstrap, world.topic(REFERENCE_INBOX))
    assert len(after) == published  # a refused key publishes no scope
