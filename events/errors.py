"""The one exception tree of Fengqiao.

``FengqiaoError`` is the root; each room has its own subtree so a caller can catch exactly
what it can handle. Third-party errors are converted at the boundary with the cause chained.
"""

from __future__ import annotations

from schemas.errors import ContractError, FengqiaoError, IncompatibleSchema, SchemaFileError

__all__ = [
    "BrokerUnavailable",
    "ContractError",
    "DecodeError",
    "FengqiaoError",
    "IncompatibleSchema",
    "InfrastructureError",
    "InvalidEvent",
    "PublishFailed",
    "RegistryError",
    "RegistryUnavailable",
    "SchemaFileError",
    "StackError",
    "TopicMismatch",
    "UnknownEventType",
]


class InvalidEvent(ContractError):
    """An event failed validation; ``field`` names the field at fault, ``rule`` the rule."""

    def __init__(self, event_type: str, field: str, rule: str, detail: str) -> None:
        self.event_type = event_type
        self.field = field
        self.rule = rule
        self.detail = detail
        super().__init__(f"{event_type}.{field}: {detail} [{rule}]")


class UnknownEventType(ContractError):
    """The event type is not in the catalog."""

    def __init__(self, event_type: str, known: list[str]) -> None:
        self.event_type = event_type
        super().__init__(
            f"unknown event type {event_type!r}; expected one of: {', '.join(sorted(known))}"
        )


class DecodeError(ContractError):
    """Bytes on a topic could not be decoded; keeps where they came from and the raw bytes."""

    def __init__(
        self,
        reason: str,
        raw: bytes,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        self.reason = reason
        self.raw = raw
        self.topic = topic
        self.partition = partition
        self.offset = offset
        where = f" at {topic}[{partition}]@{offset}" if topic is not None else ""
        super().__init__(f"cannot decode record{where}: {reason}")


# --- infrastructure: the services we talk to -------------------------------------------------
class InfrastructureError(FengqiaoError):
    """A service (Kafka, the schema registry, PostgreSQL) failed or could not be reached."""


class RegistryUnavailable(InfrastructureError):
    """The schema registry did not answer."""


class RegistryError(InfrastructureError):
    """The schema registry answered with an error."""

    def __init__(self, message: str, status: int | None = None, code: int | None = None) -> None:
        self.status = status
        self.code = code
        super().__init__(message)


class BrokerUnavailable(InfrastructureError):
    """No Kafka broker could be reached in time."""


class PublishFailed(InfrastructureError):
    """Kafka refused or lost a record; the record was not acknowledged."""


class StackError(InfrastructureError):
    """The local stack could not be installed, started or checked."""


class TopicMismatch(InfrastructureError):
    """An existing topic differs from its declaration in infra/topics.py."""
