"""Does a service answer a real request? One probe per service, by client address only.

Used for the stack's own daemons and for services configured from outside (``FQ_*``), so the
same notion of "healthy" holds everywhere. A probe never raises; it answers True or False.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import httpx
import psycopg
from confluent_kafka import KafkaError, KafkaException

from infra.stack.processes import port_open
from infra.stack.topics_admin import admin_client

METADATA_WAIT_S = 5.0
"""How long a Kafka probe waits for cluster metadata."""
METADATA_ASK_S = 1.0
"""One metadata request's wait: between two, the probe looks for an authentication refusal
(librdkafka reports one to the error callback within a second, while a metadata request it
failed waits out its whole timeout and then only says "Broker transport failure")."""


class KafkaStatus(NamedTuple):
    """What a Kafka probe saw: whether a broker answered, and librdkafka's report when the
    broker refused the credentials (``KafkaError._AUTHENTICATION``), None otherwise."""

    answers: bool
    refused: str | None = None


def kafka_status(bootstrap: str, **config: str) -> KafkaStatus:
    """Whether a broker of ``bootstrap`` returns cluster metadata with at least one broker,
    within ``METADATA_WAIT_S``, or refuses the client's credentials (seen within about
    ``METADATA_ASK_S``), as opposed to not answering (yet)."""
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    # The port check first: it keeps a down broker from costing a metadata timeout.
    if not port.isdigit() or not port_open(host, int(port)):
        return KafkaStatus(False)
    refusals: list[str] = []

    def on_error(error: KafkaError) -> None:
        if error.code() == KafkaError._AUTHENTICATION:
            refusals.append(error.str())

    deadline = time.monotonic() + METADATA_WAIT_S
    try:
        admin = admin_client(bootstrap, error_cb=on_error, **config)
        while True:
            try:
                return KafkaStatus(bool(admin.list_topics(timeout=METADATA_ASK_S).brokers))
            except KafkaException:
                admin.poll(0)  # serves the error callback
                if refusals:
                    return KafkaStatus(False, refusals[0])
                if time.monotonic() >= deadline:
                    return KafkaStatus(False)
    except KafkaException:
        return KafkaStatus(False)


def kafka_answers(bootstrap: str, **config: str) -> bool:
    """True when a broker of ``bootstrap`` returns cluster metadata with at least one broker."""
    return kafka_status(bootstrap, **config).answers


def registry_answers(ccompat_url: str) -> bool:
    """True when the Confluent-compatible API at ``ccompat_url`` lists its subjects."""
    try:
        return httpx.get(f"{ccompat_url}/subjects", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def postgres_answers(conninfo: str) -> bool:
    """True when PostgreSQL accepts a login with ``conninfo`` and runs a query."""
    try:
        with psycopg.connect(conninfo, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False
