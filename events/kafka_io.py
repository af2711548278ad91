"""The two Kafka client habits every reader and writer of Fengqiao shares.

- ``reader``: a consumer that reads by assignment under a throw-away group, commits nothing,
  and by default sees only committed records (the workflow writes in transactions).
- ``produce``: one record, waiting for room when librdkafka's local queue is full rather
  than failing, then serving delivery callbacks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, Producer


def reader(bootstrap: str, purpose: str, **config: Any) -> Consumer:
    """A consumer for reading, not for group work: group ``fengqiao-<purpose>-<uuid>``,
    no offset commits, ``read_committed``. ``config`` adds or overrides librdkafka keys,
    e.g. ``**{"isolation.level": "read_uncommitted"}``."""
    settings: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "group.id": f"fengqiao-{purpose}-{uuid.uuid4()}",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    }
    settings.update(config)
    return Consumer(settings)


def produce(
    producer: Producer,
    topic: str,
    value: bytes,
    key: bytes | None,
    on_delivery: Callable[..., None] | None = None,
) -> None:
    """Produce one record; when the local queue is full, let deliveries drain and retry."""
    while True:
        try:
            if on_delivery is None:
                producer.produce(topic, value, key)
            else:
                producer.produce(topic, value, key, on_delivery=on_delivery)
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)
