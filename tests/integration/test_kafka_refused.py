"""A locked-down broker whose cluster holds other passwords than this folder's
``principals.json`` (another tool upserted its own): ``start`` fails within seconds naming the
principal refused, the file its password came from and the remedy, and following the remedy
(remove the ``scram-users`` marker, start again) brings it up. A broker of the test's own; the
shared stack's is never touched.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from bench.common import free_port
from infra.acls import ADMIN
from infra.stack.kafka import Kafka, KafkaCredentialsRefused
from infra.stack.layout import Layout
from infra.stack.probes import METADATA_WAIT_S, kafka_status
from infra.stack.tools import Tools
from tests.integration.own_broker import own_broker

pytestmark = pytest.mark.integration

START_TIMEOUT_S = 180.0
REFUSED_WITHIN_S = 45.0  # a JVM start and one metadata request, far from START_TIMEOUT_S


@pytest.fixture(scope="module")
def diverged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kafka, Layout, Tools]]:
    """A locked-down broker, stopped, whose cluster holds another password for ``admin``."""
    kafka, layout, tools = own_broker(tmp_path_factory, "diverged-kafka", "scram")
    kafka.start(tools, timeout_s=START_TIMEOUT_S)
    try:
        upsert = UserScramCredentialUpsertion(
            ADMIN, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"changed-elsewhere"
        )
        admin = kafka.admin()
        for future in admin.alter_user_scram_credentials([upsert]).values():
            future.result(30)
    finally:
        kafka.stop(tools)
    yield kafka, layout, tools
    kafka.stop(tools)


def test_a_start_refused_fails_in_seconds_naming_the_principal_and_the_remedy(
    diverged: tuple[Kafka, Layout, Tools],
) -> None:
    kafka, layout, tools = diverged
    began = time.monotonic()
    with pytest.raises(KafkaCredentialsRefused) as refused:
        kafka.start(tools, timeout_s=START_TIMEOUT_S)
    assert time.monotonic() - began < REFUSED_WITHIN_S
    message = str(refused.value)
    assert "'admin'" in message and "invalid credentials" in message
    assert str(layout.kafka_principals) in message and str(layout.kafka_scram_users) in message
    assert "fengqiao stack up" in message and "stack down" not in message
    assert kafka.pid() is None  # stopped, so that the remedy starts it anew


def test_following_the_remedy_brings_it_up_and_the_probe_tells_refusal_from_silence(
    diverged: tuple[Kafka, Layout, Tools],
) -> None:
    kafka, layout, tools = diverged
    layout.kafka_scram_users.unlink()
    kafka.start(tools, timeout_s=START_TIMEOUT_S)
    assert kafka.locked() and layout.kafka_scram_users.exists()
    assert kafka_status(kafka.address(), **kafka.client_config(ADMIN)) == (True, None)
    # A running broker refusing: the probe says so at once, without raising; the service
    # raises, telling a broker started earlier to be stopped first.
    wrong = {**kafka.client_config(ADMIN), "sasl.password": "wrong"}
    began = time.monotonic()
    status = kafka_status(kafka.address(), **wrong)
    assert time.monotonic() - began < METADATA_WAIT_S
    assert not status.answers and status.refused and "invalid credentials" in status.refused
    layout.kafka_principals.write_text(json.dumps({**kafka.passwords(), ADMIN: "wrong"}))
    with pytest.raises(KafkaCredentialsRefused, match="fengqiao stack down"):
        kafka.wait_healthy(kafka.pid(), START_TIMEOUT_S)


def test_a_closed_port_is_silence_not_refusal() -> None:
    assert kafka_status(f"127.0.0.1:{free_port()}") == (False, None)
