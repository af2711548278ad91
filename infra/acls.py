"""Who may do what on the cluster: Kafka principals and their grants, declared once.

With SASL/SCRAM and ACLs on (``FQ_KAFKA_AUTH=scram``), a client is a principal and may do only
what is granted here: the workflow alone writes the canonical topics, the rejections and the
outcomes; the gateway and an integrator writing directly may only append to the inboxes; the
projector and the dashboard only read. Anything not granted is refused by the broker
(``allow.everyone.if.no.acl.found=false``). The declarations are plain data; applying them
is ``infra.stack.acl_admin``'s job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from events.topics import CANONICAL, INBOX, OUTCOMES, REFERENCE_EVENTS, REJECTIONS, dlq

__all__ = ["ADMIN", "PRINCIPALS", "Grant", "grants"]

ADMIN = "admin"  # the super user: the stack's own tools (topics, ACLs); no client runs as it
PRINCIPALS = ("workflow", "projector", "gateway", "dashboard")
Resource = Literal["topic", "group", "transactional_id", "cluster"]
Operation = Literal["READ", "WRITE", "DESCRIBE", "DESCRIBE_CONFIGS", "CREATE", "IDEMPOTENT_WRITE"]
READ_TOPIC: tuple[Operation, ...] = ("READ", "DESCRIBE")
WRITE_TOPIC: tuple[Operation, ...] = ("WRITE", "DESCRIBE")


@dataclass(frozen=True)
class Grant:
    """``principal`` may do ``operations`` on the resources named ``name`` (or starting so)."""

    principal: str
    resource: Resource
    name: str
    operations: tuple[Operation, ...]
    prefixed: bool = False


def grants(
    prefix: str = "", workflow_app_id: str = "fengqiao-workflow", integrators: Iterable[str] = ()
) -> list[Grant]:
    """Every grant of a deployment whose topics carry ``prefix`` (``FQ_TOPIC_PREFIX``), whose
    workflow is ``workflow_app_id``, with these direct integrators' principals.

    The topics are named literally (a prefixed deployment's own names, never every topic
    starting with the prefix); only what carries the workflow's app id (its changelogs, group
    and transactional ids) and the readers' throw-away groups are granted by name prefix."""
    inboxes = [prefix + t for t in INBOX.values()]
    canonical = [prefix + t for t in CANONICAL.values()]
    answers = [prefix + REJECTIONS, prefix + OUTCOMES]
    letters = [dlq(t) for t in (*inboxes, *canonical, *answers)]

    def topics(who: str, names: Iterable[str], ops: tuple[Operation, ...]) -> list[Grant]:
        return [Grant(who, "topic", name, ops) for name in names]

    def producer(who: str) -> list[Grant]:
        return [Grant(who, "cluster", "kafka-cluster", ("IDEMPOTENT_WRITE",))]

    def readers(who: str) -> list[Grant]:  # events.kafka_io.reader: throw-away groups
        return [Grant(who, "group", "fengqiao-", ("READ",), prefixed=True)]

    app = workflow_app_id
    # `fengqiao process` checks its topics' partitions and configs before it starts
    checked: tuple[Operation, ...] = ("DESCRIBE_CONFIGS",)
    out = [
        # the workflow: reads the inboxes and the reference log, writes everything it decides,
        # its changelogs, offsets and transactions under its app id
        *topics("workflow", inboxes, READ_TOPIC),
        *topics("workflow", [prefix + REFERENCE_EVENTS], ("READ",)),  # and writes it, below
        *topics("workflow", [*canonical, *answers, *letters], WRITE_TOPIC),
        *topics(
            "workflow",
            [*inboxes, *canonical, *answers, *letters],
            checked,
        ),
        Grant(
            "workflow",
            "topic",
            app,
            ("READ", "WRITE", "DESCRIBE", "CREATE", *checked),
            prefixed=True,
        ),
        Grant("workflow", "group", app, ("READ", "DESCRIBE"), prefixed=True),
        Grant("workflow", "transactional_id", app, ("WRITE", "DESCRIBE"), prefixed=True),
        *producer("workflow"),
        # the projector: reads the logs and the refusals, dead-letters what it cannot decode
        *topics("projector", [*canonical, prefix + REJECTIONS], READ_TOPIC),
        *topics("projector", [dlq(t) for t in (*canonical, prefix + REJECTIONS)], WRITE_TOPIC),
        *readers("projector"),
        *producer("projector"),
        # the gateway: appends to the inboxes, reads the outcomes back and the reference log
        # (the place tree a district's scope is judged against)
        *topics("gateway", inboxes, WRITE_TOPIC),
        *topics("gateway", [prefix + OUTCOMES, prefix + REFERENCE_EVENTS], READ_TOPIC),
        *readers("gateway"),
        *producer("gateway"),
        # the dashboard: only how far the logs reach
        *topics("dashboard", canonical, ("DESCRIBE",)),
        Grant("dashboard", "group", "fq-dashboard-watch", ("READ",)),
    ]
    for system in integrators:  # a departmental system writing Kafka itself: its inboxes only
        out += [*topics(system, inboxes, WRITE_TOPIC), *producer(system)]
    return out
