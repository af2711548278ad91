"""Does a service answer a real request? One probe per service, by client address only.

Used for the stack's own daemons and for services configured from outside (``FQ_*``), so the
same notion of "healthy" holds everywhere. A probe never raises; it answers True or False.
"""

from __future__ import annotations

import httpx
import psycopg
from confluent_kafka import KafkaException

from infra.stack.processes import port_open
from infra.stack.topics_admin import admin_client


def kafka_answers(bootstrap: str, **config: str) -> bool:
    """True when a broker of ``bootstrap`` returns cluster metadata with at least one broker."""
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    # The port check first: it keeps a down broker from costing a metadata timeout.
    if not port.isdigit() or not port_open(host, int(port)):
        return False
    try:
        return bool(admin_client(bootstrap, **config).list_topics(timeout=5).brokers)
    except KafkaException:
        return False


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
