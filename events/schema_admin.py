"""Registering the catalog in the schema registry, after proving it compatible offline.

Each event type is registered under one subject per topic it is written to (its stream's
inbox and canonical log; TopicRecordNameStrategy), every released version in order, with
the subject's compatibility set to BACKWARD_TRANSITIVE first so the registry enforces the
same rule the offline check proves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from events.errors import IncompatibleSchema
from events.registry import COMPATIBILITY, SchemaRegistry, subject_name
from events.topics import topics_for_stream
from schemas.catalog import Catalog
from schemas.compatibility import check_backward_transitive


@dataclass(frozen=True)
class Registered:
    subject: str
    version: int
    schema_id: int


def register_catalog(
    registry: SchemaRegistry,
    catalog: Catalog,
    progress: Callable[[Registered], None] | None = None,
) -> list[Registered]:
    """Register every version of every event type; refuse the lot if the catalog is not
    BACKWARD_TRANSITIVE offline.

    Raises:
        IncompatibleSchema: the offline check failed (all problems listed), or the registry
            refused a version (its reason).
    """
    problems = check_backward_transitive(catalog)
    if problems:
        raise IncompatibleSchema("catalog is not BACKWARD_TRANSITIVE:\n  " + "\n  ".join(problems))
    done: list[Registered] = []
    for event_type in catalog.event_types():
        versions = catalog.versions(event_type)
        for topic in topics_for_stream(versions[-1].stream):
            subject = subject_name(topic, versions[-1].fullname)
            registry.set_compatibility(subject, COMPATIBILITY)
            for version in versions:
                schema_id = registry.register(subject, version.schema)
                item = Registered(subject, version.version, schema_id)
                done.append(item)
                if progress is not None:
                    progress(item)
    return done
