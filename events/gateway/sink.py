"""Records to the inbox topics, awaited until Kafka acknowledges each one.

One idempotent producer (``acks=all``, ``enable.idempotence=true``, the SDK's fixed settings)
serves every request. Its delivery reports are served on the event loop itself, by a task that
polls the producer while records are in flight: a report served from a thread of its own would
need the GIL for each record, and a busy event loop gives it up only every switch interval
(5 ms), so a single request waited that long for its acknowledgement and a batch of 1,000 far
longer. A request waits for its own records only, never for a flush.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from typing import NamedTuple

from confluent_kafka import KafkaError, Message, Producer

from events.codec import AvroCodec
from events.errors import BrokerUnavailable, InfrastructureError, PublishFailed
from events.kafka_io import produce, where
from events.models import Event
from events.publisher import PublisherSettings
from events.topics import INBOX

__all__ = ["Delivered", "Sink"]

_IDLE_POLL_S = 0.001
"""How long the pump sleeps between polls that served nothing while records are in flight:
short beside an acknowledgement's round trip, long enough to leave the loop to requests. A
whole millisecond: uvloop's timers count whole milliseconds, and rounds a shorter sleep to
none (the pump would then spin while any record is in flight)."""


class Delivered(NamedTuple):
    """Where Kafka stored a record (a tuple: made for every record, a frozen dataclass's
    ``__init__`` cost twice as much, 0.5 µs)."""

    topic: str
    partition: int
    offset: int


Outcome = Delivered | InfrastructureError


class Sink:
    """Produces events to ``prefix`` + their inbox and awaits the acknowledgements."""

    def __init__(self, settings: PublisherSettings, codec: AvroCodec, timeout_s: float) -> None:
        self.codec, self.timeout_s = codec, timeout_s
        self.prefix = settings.topic_prefix
        self._producer = Producer(settings.producer_config())
        self._in_flight = 0
        self._wake: asyncio.Event | None = None
        self._pump: asyncio.Task[None] | None = None

    def close(self) -> None:
        """Wait up to the timeout for records in flight (their requests are answered), then
        stop serving delivery reports."""
        self._producer.flush(self.timeout_s)
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None

    def topic_of(self, event: Event) -> str:
        return self.prefix + INBOX[event.stream]

    async def send(self, events: Sequence[Event]) -> list[Outcome]:
        """Each event's place in Kafka, or why it has none (in the order given).

        Raises:
            ContractError: an event cannot be encoded (its schema is not registered).
        """
        if not events:
            return []
        encoded = [self.codec.encode(INBOX[e.stream], e) for e in events]
        awaited = _Awaited(len(events), asyncio.get_running_loop().create_future())
        wake = self._pumping()
        for index, (event, value) in enumerate(zip(events, encoded, strict=True)):
            self._in_flight += 1
            produce(
                self._producer,
                self.topic_of(event),
                value,
                event.key().encode(),
                partial(self._delivered, awaited, index),
                serve=False,
            )
        wake.set()
        # One future for the whole send, set by its last report (a future per record cost
        # more than the record's encoding); asyncio.wait leaves it alone at the timeout.
        await asyncio.wait([awaited.done], timeout=self.timeout_s)
        late = BrokerUnavailable(f"not acknowledged within {self.timeout_s:g} s")
        return [late if o is None else o for o in awaited.outcomes]

    def _pumping(self) -> asyncio.Event:
        """The pump's wake-up, the pump started on this loop if it is not running on it."""
        loop = asyncio.get_running_loop()
        pump, wake = self._pump, self._wake
        if pump is None or pump.done() or pump.get_loop() is not loop or wake is None:
            wake = self._wake = asyncio.Event()
            self._pump = loop.create_task(self._serve(wake))
        return wake

    async def _serve(self, wake: asyncio.Event) -> None:
        """Serve delivery reports on this loop while records are in flight."""
        while True:
            if self._in_flight <= 0:
                wake.clear()
                await wake.wait()
            served = self._producer.poll(0)
            await asyncio.sleep(0 if served else _IDLE_POLL_S)

    def _delivered(
        self, awaited: _Awaited, index: int, err: KafkaError | None, msg: Message
    ) -> None:
        self._in_flight -= 1
        result: Outcome
        if err is None:
            result = Delivered(*where(msg))
        elif err.code() in (KafkaError._MSG_TIMED_OUT, KafkaError._TRANSPORT):
            result = BrokerUnavailable(err.str())
        else:
            result = PublishFailed(f"{err.name()}: {err.str()}")
        awaited.outcomes[index] = result
        awaited.left -= 1
        if awaited.left == 0 and not awaited.done.done():  # not when its request went away
            awaited.done.set_result(None)


class _Awaited:
    """The reports one ``send`` waits for: each record's outcome (None until reported), how
    many are left, and the future its last report sets."""

    __slots__ = ("done", "left", "outcomes")

    def __init__(self, count: int, done: asyncio.Future[None]) -> None:
        self.outcomes: list[Outcome | None] = [None] * count
        self.left, self.done = count, done
