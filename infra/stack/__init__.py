"""The local stack (PostgreSQL, Kafka, Apicurio Registry) as local processes, no Docker.

``fengqiao stack up | down | status`` (infra/stack_cli.py) is the command; these functions
are what it, the integration tests and the demo call.
"""

from __future__ import annotations

from infra.stack.control import (
    freeze,
    service_pid,
    start_service,
    stop_service,
    thaw,
)
from infra.stack.stack import (
    ServiceReport,
    UpReport,
    connection_for,
    disk_usage,
    down,
    prepare,
    status,
    up,
)
from infra.stack.topics_admin import ensure_topics

__all__ = [
    "ServiceReport",
    "UpReport",
    "connection_for",
    "disk_usage",
    "down",
    "ensure_topics",
    "freeze",
    "prepare",
    "service_pid",
    "start_service",
    "status",
    "stop_service",
    "thaw",
    "up",
]
