"""Records to the inbox topics, awaited until Kafka acknowledges each one.

One idempotent producer (``acks=all``, ``enable.idempotence=true``, the SDK's fixed settings)
serves every request; a thread serves its delivery reports and resolves each record's future
on the event loop, so a request waits for its own records only, never for a flush.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message, Producer

from events.codec import AvroCodec
from events.errors import BrokerUnavailable, InfrastructureError, PublishFailed
from events.kafka_io import produce, where
from events.models import Event
from events.publisher import PublisherSettings
from events.topics import INBOX

__all__ = ["Delivered", "Sink"]


@dataclass(frozen=True)
class Delivered:
    """Where Kafka stored a record."""

    topic: str
    partition: int
    offset: int


class Sink:
    """Produces events to ``prefix`` + their inbox and awaits the acknowledgements."""

    def __init__(self, settings: PublisherSettings, codec: AvroCodec, timeout_s: float) -> None:
        self.codec, self.timeout_s = codec, timeout_s
        self.prefix = settings.topic_prefix
        self._producer = Producer(settings.producer_config())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="gateway-sink", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.05)

    def close(self) -> None:
        self._producer.flush(self.timeout_s)
        self._stop.set()
        self._thread.join(5)

    def topic_of(self, event: Event) -> str:
        return self.prefix + INBOX[event.stream]

    async def send(self, events: Sequence[Event]) -> list[Delivered | InfrastructureError]:
        """Each event's place in Kafka, or why it has none (in the order given).

        Raises:
            ContractError: an event cannot be encoded (its schema is not registered).
        """
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Delivered | InfrastructureError]] = []
        encoded = [(e, self.codec.encode(INBOX[e.stream], e)) for e in events]
        for event, value in encoded:
            future: asyncio.Future[Delivered | InfrastructureError] = loop.create_future()
            futures.append(future)
            produce(
                self._producer,
                self.topic_of(event),
                value,
                event.key().encode(),
                _resolver(loop, future),
                serve=False,
            )
        try:
            async with asyncio.timeout(self.timeout_s):
                return list(await asyncio.gather(*futures))
        except TimeoutError:
            late = BrokerUnavailable(f"not acknowledged within {self.timeout_s:g} s")
            # gather cancelled the futures still waiting: those are late, not answers
            return [f.result() if f.done() and not f.cancelled() else late for f in futures]


def _resolver(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[Delivered | InfrastructureError]
) -> Callable[[KafkaError | None, Message], None]:
    def delivered(err: KafkaError | None, msg: Message) -> None:
        result: Delivered | InfrastructureError
        if err is None:
            result = Delivered(*where(msg))
        elif err.code() in (KafkaError._MSG_TIMED_OUT, KafkaError._TRANSPORT):
            result = BrokerUnavailable(err.str())
        else:
            result = PublishFailed(f"{err.name()}: {err.str()}")
        loop.call_soon_threadsafe(_settle, future, result)

    return delivered


def _settle(
    future: asyncio.Future[Delivered | InfrastructureError], result: Delivered | InfrastructureError
) -> None:
    if not future.done():
        future.set_result(result)
