"""The publisher SDK: how departmental systems put submissions on Fengqiao's inbox topics.

A ``Publisher`` validates each event against the contract, encodes it in the Confluent wire
format, and produces it with an idempotent producer (``acks=all``,
``enable.idempotence=true``) keyed as the log requires (cases by case id, visits by grid id,
reference data by entity id). Every call returns only when Kafka has acknowledged the
records, or raises / reports exactly what failed. Submissions are idempotent by event id:
re-sending an event with the same ``envelope.event_id`` is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Self

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.codec import AvroCodec
from events.errors import (
    BrokerUnavailable,
    ContractError,
    FengqiaoError,
    InfrastructureError,
    InvalidEvent,
    PublishFailed,
)
from events.kafka_access import kafka_config
from events.kafka_io import produce, where
from events.models import Event
from events.outcomes import Outcome, OutcomeWatcher
from events.registry import SchemaRegistry
from events.topics import INBOX, OUTCOMES
from events.validation import parse_event

# Delivery guarantees the SDK will not let a caller weaken; murmur2 so that every client
# (Java, Faust, this SDK) puts a key in the same partition.
_FIXED = {"acks": "all", "enable.idempotence": True, "partitioner": "murmur2_random"}
POLL_EVERY = 1000
"""How many records ``publish_batch`` produces between serving delivery reports."""


class PublisherSettings(BaseSettings):
    """Publisher configuration.

    Environment: ``FQ_KAFKA_BOOTSTRAP`` (``127.0.0.1:19092``), ``FQ_REGISTRY_URL``
    (``http://127.0.0.1:18081/apis/ccompat/v7``), ``FQ_PUBLISH_LINGER_MS`` (5),
    ``FQ_PUBLISH_TIMEOUT_S`` (30: how long a record may wait for its acknowledgement),
    ``FQ_AUTO_REGISTER`` (false), ``FQ_TOPIC_PREFIX`` (empty: prepended to the inbox and
    outcome topics, as the workflow's ``FQ_TOPIC_PREFIX`` does; records are still framed with
    the schemas registered for the real topic names).
    """

    model_config = SettingsConfigDict(env_prefix="FQ_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    registry_url: str = "http://127.0.0.1:18081/apis/ccompat/v7"
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")
    publish_linger_ms: int = Field(default=5, ge=0)
    publish_timeout_s: float = Field(default=30.0, gt=0)
    auto_register: bool = False
    client_id: str = "fengqiao-publisher"
    kafka_overrides: dict[str, str] = Field(default_factory=dict)

    def producer_config(self) -> dict[str, Any]:
        config = kafka_config(
            self.kafka_bootstrap,
            **{
                "client.id": self.client_id,
                "linger.ms": self.publish_linger_ms,
                "message.timeout.ms": int(self.publish_timeout_s * 1000),
                "compression.type": "lz4",
                "batch.num.messages": 10000,
                "queue.buffering.max.messages": 1_000_000,
            },
        )
        config.update(self.kafka_overrides)
        config.update(_FIXED)
        return config


@dataclass(frozen=True)
class Receipt:
    """Where Kafka stored one submission."""

    event_id: str
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Failure:
    """One submission that was not published, and why."""

    index: int
    event_id: str | None
    error: FengqiaoError

    @property
    def reason(self) -> str:
        return str(self.error)


@dataclass
class BatchResult:
    """The outcome of a batch: every input is either in ``receipts`` or in ``failures``."""

    receipts: list[Receipt] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


class Publisher:
    """Publishes submissions to the inbox topics.

    Use as a context manager, or call ``close()``. Not thread-safe: one per thread.

    Args:
        settings: connection and tuning (default: from the environment).
        registry: a shared registry client (default: one for ``settings.registry_url``).
        inbox: the topic per stream (default: ``events.topics.INBOX`` under the settings'
            ``topic_prefix``); tests and benchmarks point it at topics of their own.

    Raises (from ``publish``):
        InvalidEvent: a field breaks the contract (``.field``, ``.rule``); nothing is sent.
        UnknownEventType: no such event type; nothing is sent.
        RegistryUnavailable / SchemaNotRegistered: the schema id cannot be had.
        BrokerUnavailable: Kafka could not be reached within the publish timeout.
        PublishFailed: Kafka refused the record.
    """

    def __init__(
        self,
        settings: PublisherSettings | None = None,
        registry: SchemaRegistry | None = None,
        inbox: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings or PublisherSettings()
        prefix = self.settings.topic_prefix
        self.inbox = dict(inbox or {stream: prefix + topic for stream, topic in INBOX.items()})
        # Under a prefix, frame with the subjects of the real names (one registration serves all).
        self._subject_topic = {} if inbox else dict(INBOX)
        self.codec = AvroCodec(
            registry or SchemaRegistry(self.settings.registry_url),
            auto_register=self.settings.auto_register,
        )
        self._producer: Producer | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def producer(self) -> Producer:
        if self._producer is None:
            try:
                self._producer = Producer(self.settings.producer_config())
            except KafkaException as exc:
                raise InfrastructureError(f"bad Kafka producer configuration: {exc}") from exc
        return self._producer

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(self.settings.publish_timeout_s)
            self._producer = None
        self.codec.registry.close()

    # --- the API ---------------------------------------------------------------------------
    def publish(self, event: Event | Mapping[str, Any]) -> Receipt:
        """Publish one event and wait for its acknowledgement."""
        result = self.publish_batch([event])
        if result.failures:
            raise result.failures[0].error
        return result.receipts[0]

    def publish_batch(
        self,
        events: Iterable[Event | Mapping[str, Any]],
        progress: Callable[[int], None] | None = None,
    ) -> BatchResult:
        """Publish many events; return when every one is acknowledged or has failed.

        Invalid events are reported in ``failures`` (with their index) and never sent; the
        valid ones are sent in order. ``progress`` is called with the number of records
        acknowledged since the last call.
        """
        result = BatchResult()
        receipts, failures = result.receipts, result.failures
        sent: list[tuple[int, str]] = []
        acknowledged = bytearray()  # by input index: 1 once Kafka has reported on it
        producer = self.producer

        def delivered(index: int, event_id: str, err: KafkaError | None, msg: Message) -> None:
            acknowledged[index] = 1
            if err is None:
                receipts.append(Receipt(event_id, *where(msg)))
            else:
                failures.append(Failure(index, event_id, _delivery_error(err)))
            if progress is not None:
                progress(1)

        for index, raw in enumerate(events):
            acknowledged.append(0)
            try:
                event = raw if isinstance(raw, Event) else parse_event(raw)
                topic = self.inbox.get(event.stream)
                if topic is None:
                    raise InvalidEvent(
                        event.event_type,
                        "event_type",
                        "not_a_submission",
                        f"{event.event_type} is written by the workflow, never submitted",
                    )
                value = self.codec.encode(self._subject_topic.get(event.stream, topic), event)
            except ContractError as exc:
                failures.append(Failure(index, _event_id(raw), exc))
                if progress is not None:
                    progress(1)
                continue
            event_id = event.envelope.event_id
            sent.append((index, event_id))
            # One C-made partial per record is the cheapest way to carry its index to its
            # delivery report; deliveries are served every POLL_EVERY records and at flush.
            callback = partial(delivered, index, event_id)
            produce(producer, topic, value, event.key().encode(), callback, serve=False)
            if not len(sent) % POLL_EVERY:
                producer.poll(0)
        remaining = producer.flush(self.settings.publish_timeout_s)
        if remaining:
            failures.extend(
                Failure(index, event_id, BrokerUnavailable(_unreachable(self.settings)))
                for index, event_id in sent
                if not acknowledged[index]
            )
        failures.sort(key=lambda f: f.index)
        return result

    def submit(
        self,
        events: Iterable[Event | Mapping[str, Any]],
        timeout_s: float = 60.0,
        outcomes_topic: str | None = None,
    ) -> list[Outcome]:
        """Publish events and wait for the workflow's outcome of each, in input order:
        accepted (with its case sequence), rejected (with the code and message), or a
        duplicate of an event id answered before (with that first answer).

        The outcomes are read from the outcomes topic, from the partitions of the events'
        source systems only, starting where they ended before publishing.

        Args:
            timeout_s: how long to wait for the outcomes once published.
            outcomes_topic: the outcomes topic (default: the real one, under the settings'
                ``topic_prefix``).

        Raises:
            the first publishing failure (nothing is waited for then);
            OutcomeTimeout: the workflow gave no outcome in time for some of them.
        """
        batch = [raw if isinstance(raw, Event) else parse_event(raw) for raw in events]
        topic = outcomes_topic or self.settings.topic_prefix + OUTCOMES
        systems = {event.envelope.source_system for event in batch}
        watcher = OutcomeWatcher(self.settings.kafka_bootstrap, self.codec, systems, topic)
        with watcher:
            result = self.publish_batch(batch)
            if result.failures:
                raise result.failures[0].error
            records = {(r.topic, r.partition, r.offset): r.event_id for r in result.receipts}
            outcomes = watcher.wait(records, timeout_s)
        by_id = {r.event_id: outcomes[(r.topic, r.partition, r.offset)] for r in result.receipts}
        return [by_id[event.envelope.event_id] for event in batch]


def _event_id(raw: Any) -> str | None:
    if isinstance(raw, Event):
        return raw.envelope.event_id
    envelope = raw.get("envelope") if isinstance(raw, Mapping) else None
    value = envelope.get("event_id") if isinstance(envelope, Mapping) else None
    return value if isinstance(value, str) else None


def _unreachable(settings: PublisherSettings) -> str:
    return (
        f"Kafka at {settings.kafka_bootstrap} did not acknowledge within "
        f"{settings.publish_timeout_s:g}s; is the stack up? try `fengqiao stack status`"
    )


def _delivery_error(err: KafkaError) -> FengqiaoError:
    if err.code() in (
        KafkaError._MSG_TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
    ):
        return BrokerUnavailable(f"record not acknowledged: {err.str()}")
    return PublishFailed(f"Kafka refused the record: {err.name()}: {err.str()}")
