"""Applying ``infra.acls`` to a broker, as its super user."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from events.errors import BrokerUnavailable
from infra.acls import Grant

__all__ = ["apply_grants", "binding"]

TIMEOUT_S = 30.0
_RESOURCES = {
    "topic": ResourceType.TOPIC,
    "group": ResourceType.GROUP,
    "transactional_id": ResourceType.TRANSACTIONAL_ID,
    "cluster": ResourceType.BROKER,  # librdkafka's name for the cluster resource
}


def binding(grant: Grant, operation: str) -> AclBinding:
    """One ACL of ``grant``: allow its principal ``operation`` from any host."""
    pattern = ResourcePatternType.PREFIXED if grant.prefixed else ResourcePatternType.LITERAL
    return AclBinding(
        _RESOURCES[grant.resource],
        grant.name,
        pattern,
        f"User:{grant.principal}",
        "*",
        AclOperation[operation],
        AclPermissionType.ALLOW,
    )


def apply_grants(admin: AdminClient, grants: Iterable[Grant]) -> int:
    """Create every ACL of ``grants`` (creating one that exists is a no-op); how many."""
    bindings = [binding(g, op) for g in grants for op in g.operations]
    for acl, future in admin.create_acls(bindings, request_timeout=TIMEOUT_S).items():
        try:
            future.result(TIMEOUT_S)
        except Exception as exc:  # a KafkaException, or the broker's refusal of one ACL
            raise BrokerUnavailable(f"the broker refused the ACL {acl}: {exc}") from exc
    return len(bindings)
