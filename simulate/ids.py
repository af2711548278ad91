"""Deterministic identities and envelopes for simulated events."""

from __future__ import annotations

import random
import uuid
from datetime import datetime

from events.models import Actor, ActorRole, Envelope


def event_id(rng: random.Random) -> str:
    """A UUID4-shaped id drawn from the seeded RNG, so a seed always gives the same ids."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def envelope(
    rng: random.Random,
    event_time: datetime,
    source: str,
    actor_id: str,
    role: ActorRole,
    recorded_time: datetime | None = None,
    correlation_id: str | None = None,
) -> Envelope:
    return Envelope(
        event_id=event_id(rng),
        event_time=event_time,
        recorded_time=recorded_time or event_time,
        source_system=source,
        actor=Actor(id=actor_id, role=role),
        correlation_id=correlation_id,
    )
