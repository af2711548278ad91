"""Topics as code: every Kafka topic of Fengqiao, declared once and used everywhere.

Event topics keep everything (no time or size retention): the log is the source of truth and
nothing is ever deleted. Case and visit topics are partitioned for parallelism; reference
data has one partition so that definitions apply in the order they were made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from events.topics import (
    CASE_EVENTS,
    CASE_INBOX,
    OUTCOMES,
    REFERENCE_EVENTS,
    REFERENCE_INBOX,
    REJECTIONS,
    VISIT_EVENTS,
    VISIT_INBOX,
    dlq,
)

KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


@dataclass(frozen=True)
class TopicSpec:
    """One topic: its name, partition count and the configs it must have."""

    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=lambda: dict(KEEP_FOREVER))
    doc: str = ""


STREAM_PARTITIONS = 12


_BASE = [
    TopicSpec(CASE_INBOX, STREAM_PARTITIONS, doc="case submissions from integrators, by case id"),
    TopicSpec(VISIT_INBOX, STREAM_PARTITIONS, doc="visit submissions, by grid id"),
    TopicSpec(REFERENCE_INBOX, 1, doc="reference-data definitions, in the order made"),
    TopicSpec(CASE_EVENTS, STREAM_PARTITIONS, doc="canonical case log, by case id"),
    TopicSpec(VISIT_EVENTS, STREAM_PARTITIONS, doc="canonical visit log, by grid id"),
    TopicSpec(REFERENCE_EVENTS, 1, doc="canonical reference-data log"),
    TopicSpec(REJECTIONS, STREAM_PARTITIONS, doc="refused submissions with their reason"),
    TopicSpec(OUTCOMES, STREAM_PARTITIONS, doc="each submission's one answer, by its system"),
]

# Any topic that an outside writer or a decoder can meet a poison record on gets a DLQ with
# the same partitioning, so a dead letter keeps its key's order (the projector decodes the
# rejections too).
TOPICS: tuple[TopicSpec, ...] = tuple(
    _BASE
    + [
        TopicSpec(dlq(t.name), t.partitions, doc=f"poison records of {t.name}, with the reason")
        for t in _BASE
    ]
)

TOPICS_BY_NAME = {t.name: t for t in TOPICS}


def expected_mismatches(spec: TopicSpec, partitions: int, config: dict[str, str]) -> list[str]:
    """What differs between a declared topic and an existing one (empty when they agree)."""
    problems = []
    if partitions != spec.partitions:
        problems.append(f"{spec.name}: {partitions} partitions, declared {spec.partitions}")
    for key, want in spec.config.items():
        have = config.get(key)
        if have != want:
            problems.append(f"{spec.name}: {key}={have}, declared {want}")
    return problems
