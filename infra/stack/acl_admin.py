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
from events.kafka_access import KafkaAccess
from infra.acls import Grant, grants
from infra.stack.topics_admin import admin_client

__all__ = ["apply_grants", "binding", "grant_deployment"]

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
    # one ACL once: librdkafka refuses a request that names one twice
    bindings = list(dict.fromkeys(binding(g, op) for g in grants for op in g.operations))
    for acl, future in admin.create_acls(bindings, request_timeout=TIMEOUT_S).items():
        try:
            future.result(TIMEOUT_S)
        except Exception as exc:  # a KafkaException, or the broker's refusal of one ACL
            raise BrokerUnavailable(f"the broker refused the ACL {acl}: {exc}") from exc
    return len(bindings)


def grant_deployment(
    bootstrap: str,
    prefix: str = "",
    workflow_app_id: str = "fengqiao-workflow",
    integrators: Iterable[str] = (),
) -> int:
    """As this process's principal (the super user), grant each principal its part of the
    deployment under ``prefix`` (a test's, the demo's, a second deployment's topics) with
    ``infra.acls.grants``; how many ACLs. Nothing, 0, when ``bootstrap`` is not locked down.

    Raises:
        BrokerUnavailable: the broker refused an ACL (this principal is not the super user).
    """
    if not KafkaAccess.for_bootstrap(bootstrap).sasl:
        return 0
    return apply_grants(admin_client(bootstrap), grants(prefix, workflow_app_id, integrators))
