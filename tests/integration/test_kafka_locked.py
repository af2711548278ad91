"""The session's stack is locked down (SASL/SCRAM and the ACLs of infra.acls): an integrator's
principal may append to its inboxes and nothing else, and the processes the tests start are
their principals, not the super user."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from events.kafka_access import KafkaAccess, kafka_config
from events.topics import CASE_EVENTS, CASE_INBOX, OUTCOMES
from infra.cli_process import prefixed
from infra.settings import ConnectionSettings
from infra.stack.acl_admin import grant_deployment
from infra.stack.topics_admin import admin_client, ensure_topics
from tests.integration.helpers import delete_prefixed_topics

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "integrator-s3cret"


@pytest.fixture
def deployment(
    connection_settings: ConnectionSettings, unique_name: Callable[[str], str]
) -> Iterator[str]:
    """A prefix of this test's own, its topics made by the super user."""
    bootstrap = connection_settings.kafka_bootstrap
    assert KafkaAccess.for_bootstrap(bootstrap).sasl, (
        f"the stack at {bootstrap} is not locked down (started with FQ_KAFKA_AUTH=none, or "
        "before it was the default: `fengqiao stack down` then `up` locks it down)"
    )
    prefix = unique_name("locked") + "."
    ensure_topics(admin_client(bootstrap), connection_settings, prefixed(prefix))
    yield prefix
    delete_prefixed_topics(bootstrap, prefix)


@pytest.fixture
def integrator(
    connection_settings: ConnectionSettings, unique_name: Callable[[str], str], deployment: str
) -> Iterator[str]:
    """A departmental system writing Kafka itself: its own SCRAM user, added with its grants
    on the deployment by the super user, and removed afterwards."""
    bootstrap = connection_settings.kafka_bootstrap
    admin = admin_client(bootstrap)
    name = unique_name("dept")
    mechanism = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096)
    added: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(name, mechanism, PASSWORD.encode())
    ]
    for future in admin.alter_user_scram_credentials(added).values():
        future.result(30)
    assert grant_deployment(bootstrap, deployment, integrators=[name]) > 0
    yield name
    removed: list[UserScramCredentialAlteration] = [
        UserScramCredentialDeletion(name, ScramMechanism.SCRAM_SHA_512)
    ]
    for future in admin.alter_user_scram_credentials(removed).values():
        future.result(30)
    theirs = AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, f"User:{name}", None,
        AclOperation.ANY, AclPermissionType.ANY,
    )  # fmt: skip
    for future in admin.delete_acls([theirs]).values():
        future.result(30)


def _write_as(bootstrap: str, user: str, topic: str) -> KafkaError | None:
    """Append one record to ``topic`` as ``user``: None when written, else the refusal."""
    config = {"sasl.username": user, "sasl.password": PASSWORD, "log_level": 0}
    producer = Producer(
        kafka_config(
            bootstrap, **config, **{"enable.idempotence": True, "message.timeout.ms": 15000}
        )
    )
    errors: list[KafkaError | None] = []
    producer.produce(topic, b"{}", b"case-1", on_delivery=lambda err, _: errors.append(err))
    producer.flush(20)
    assert errors, f"no delivery report for {user} on {topic}"
    return errors[0]


def test_an_integrators_principal_cannot_write_a_canonical_topic(
    connection_settings: ConnectionSettings, deployment: str, integrator: str
) -> None:
    bootstrap = connection_settings.kafka_bootstrap
    assert _write_as(bootstrap, integrator, deployment + CASE_INBOX) is None
    for topic in (deployment + CASE_EVENTS, deployment + OUTCOMES, CASE_EVENTS):
        refused = _write_as(bootstrap, integrator, topic)
        assert refused is not None, f"{integrator} wrote {topic}"
        assert refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, (topic, refused)


def test_a_workflow_worker_is_its_principal_not_the_super_user(
    connection_settings: ConnectionSettings, deployment: str, tmp_path: Path
) -> None:
    """Its deployment was never granted: the worker is refused the topics it must check."""
    env = {
        **os.environ,
        "FQ_KAFKA_BOOTSTRAP": connection_settings.kafka_bootstrap,
        "FQ_REGISTRY_URL": connection_settings.registry_url,
        "FQ_TOPIC_PREFIX": deployment,
        "FQ_WORKFLOW_APP_ID": f"ungranted-{deployment.rstrip('.')}",
        "FQ_WORKFLOW_DATA_DIR": str(tmp_path / "faust"),
    }
    worker = subprocess.run(
        [sys.executable, "-m", "infra.cli", "process"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert worker.returncode == 1, worker.stderr[-3000:]
    assert "TOPIC_AUTHORIZATION_FAILED" in worker.stderr, worker.stderr[-3000:]
