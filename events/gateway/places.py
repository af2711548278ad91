"""The place tree, read from the canonical reference log, for finding an event's district.

A ``PlaceReader`` reads ``fq.reference.events`` (one partition) from its start in a thread of
its own and keeps every place's definitions by date; ``ready`` is set once it has reached the
log's end as it was at start. ``district_of(place, day)`` walks the parents in force that day.
"""

from __future__ import annotations

import logging
import threading
from bisect import insort
from datetime import date

from confluent_kafka import KafkaError, TopicPartition

from events.codec import AvroCodec
from events.errors import DecodeError
from events.kafka_io import reader, where
from events.models import Event, PlaceDefined, PlaceLevel, PlaceRetired

__all__ = ["PlaceReader"]

log = logging.getLogger("fengqiao.gateway")
_MAX_DEPTH = 8  # a chain longer than the five levels is a loop in the data


class PlaceReader:
    """The places of one reference topic, kept current by a daemon thread."""

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec) -> None:
        self.topic, self.codec = topic, codec
        self._consumer = reader(bootstrap, "gateway-places", **{"enable.partition.eof": True})
        # code -> [(effective_from, order, level, parent, retired)], by date then log order
        self._places: dict[str, list[tuple[date, int, str, str | None, bool]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gateway-places", daemon=True)

    def start(self) -> None:
        self._consumer.assign([TopicPartition(self.topic, 0, 0)])
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._consumer.close()

    def district_of(self, place: str, day: date) -> str | None:
        """The district ``place`` lies in on ``day`` (itself when a district), or ``None``."""
        code: str | None = place
        with self._lock:
            for _ in range(_MAX_DEPTH):
                if code is None:
                    return None
                found = [p for p in self._places.get(code, ()) if p[0] <= day]
                if not found or found[-1][4]:
                    return None
                _, _, level, parent, _ = found[-1]
                if level == PlaceLevel.district:
                    return code
                code = parent
        return None

    def _run(self) -> None:
        order = 0
        while not self._stop.is_set():
            msg = self._consumer.poll(0.5)
            if msg is None:
                continue
            error = msg.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    self.ready.set()
                else:
                    log.warning("reading the place tree: %s", error)
                continue
            try:
                event = self.codec.decode(msg.value() or b"", *where(msg))
            except DecodeError as exc:
                log.warning("place tree: skipped a record that does not decode: %s", exc)
                continue
            order += 1
            self.take(event, order)

    def take(self, event: Event, order: int) -> None:
        """Keep what ``event``, the ``order``-th of the log, says; a reader that keeps more
        of the reference data extends this."""
        if isinstance(event, PlaceDefined):
            item = (event.effective_from, order, str(event.level), event.parent_code, False)
        elif isinstance(event, PlaceRetired):
            item = (event.effective_from, order, "", None, True)
        else:
            return
        with self._lock:
            insort(self._places.setdefault(event.code, []), item)
