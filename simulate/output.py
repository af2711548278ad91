"""Where a simulation's events go: the inbox topics through the publisher SDK, or an NDJSON
file that ``fengqiao publish`` reads back. Both answer each batch with what did not go."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from events.errors import InfrastructureError
from events.models import Event
from events.publisher import Publisher

__all__ = ["Failed", "NdjsonSink", "PublishSink", "Sink", "event_line"]


@dataclass(frozen=True)
class Failed:
    """One event that was not written, and why."""

    event_id: str
    event_type: str
    reason: str


class Sink(Protocol):
    def write(self, events: list[Event]) -> list[Failed]: ...


def event_line(event: Event) -> str:
    """One NDJSON line (no newline): ``{"event_type": ..., ...the event's fields}``."""
    return json.dumps(
        {"event_type": event.event_type, **event.model_dump(mode="json")}, ensure_ascii=False
    )


class NdjsonSink:
    """Appends events to an open text file, one line each."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    @classmethod
    def create(cls, path: Path) -> NdjsonSink:
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path.open("w", encoding="utf-8"))

    def write(self, events: list[Event]) -> list[Failed]:
        self.out.writelines(event_line(event) + "\n" for event in events)
        return []

    def close(self) -> None:
        self.out.close()


class PublishSink:
    """Publishes each batch with ``Publisher.publish_batch`` and waits for its acknowledgement.

    A contract failure is one event's problem and is returned; an infrastructure failure
    (Kafka not acknowledging, the registry gone) would fail every event after it, so the first
    one is raised and the run stops.
    """

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher

    def write(self, events: list[Event]) -> list[Failed]:
        result = self.publisher.publish_batch(events)
        for failure in result.failures:
            if isinstance(failure.error, InfrastructureError):
                raise failure.error
        return [
            Failed(
                f.event_id or "?",
                events[f.index].event_type,
                f"{type(f.error).__name__}: {f.reason}",
            )
            for f in result.failures
        ]
