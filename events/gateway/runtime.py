"""``Gateway``: what one gateway process holds for its requests, and ``accept``, the one path
from a body to an event the caller may submit.

It holds the codec, the Kafka sink, the PostgreSQL pools (an async one for requests, a small
one for key checks), the place tree and the outcome materializer; ``start`` and ``stop``
follow the app's lifespan.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool, ConnectionPool

from events.codec import AvroCodec
from events.collector import freeze_start_up
from events.errors import InfrastructureError
from events.gateway.acceptance import accept
from events.gateway.auth import Authenticator
from events.gateway.credentials import Credential
from events.gateway.database import ensure_schema
from events.gateway.outcomes import OutcomeMaterializer
from events.gateway.places import PlaceReader
from events.gateway.settings import GatewaySettings
from events.gateway.sink import Sink
from events.gateway.submissions import Recorder
from events.models import Event
from events.publisher import PublisherSettings
from events.registry import SchemaRegistry
from events.topics import OUTCOMES, REFERENCE_EVENTS

__all__ = ["Gateway"]

log = logging.getLogger("fengqiao.gateway")


class Gateway:
    """One gateway process's resources; nothing connects before ``start``."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.dsn = settings.pg_dsn.get_secret_value()
        connect: dict[str, Any] = {
            "autocommit": True,
            "options": f"-c search_path={settings.gateway_schema}",
        }
        self.pool = AsyncConnectionPool(
            self.dsn, min_size=1, max_size=settings.gateway_pool, open=False, kwargs=connect
        )
        self.recorder = Recorder(self.pool)
        self.key_pool = ConnectionPool(self.dsn, min_size=1, max_size=2, open=False, kwargs=connect)
        self.authenticator = Authenticator(self.key_pool, settings.gateway_auth_cache_s)
        self.codec: AvroCodec | None = None
        self.sink: Sink | None = None
        self.places: PlaceReader | None = None
        self.materializer: OutcomeMaterializer | None = None

    async def start(self) -> None:
        s = self.settings
        ensure_schema(self.dsn, s.gateway_schema)
        await self.pool.open(wait=True)
        self.key_pool.open(wait=True)
        self.codec = AvroCodec(SchemaRegistry(s.registry_url), auto_register=s.auto_register)
        publisher = PublisherSettings(
            kafka_bootstrap=s.kafka_bootstrap,
            registry_url=s.registry_url,
            topic_prefix=s.topic_prefix,
            publish_linger_ms=s.gateway_linger_ms,
            publish_timeout_s=s.gateway_ack_timeout_s,
            client_id="fengqiao-gateway",
        )
        self.sink = Sink(publisher, self.codec, s.gateway_ack_timeout_s)
        self.places = PlaceReader(s.kafka_bootstrap, s.topic_prefix + REFERENCE_EVENTS, self.codec)
        self.places.start()
        if not self.places.ready.wait(s.gateway_startup_timeout_s):
            raise InfrastructureError(
                f"the place tree ({s.topic_prefix + REFERENCE_EVENTS}) was not read within "
                f"{s.gateway_startup_timeout_s:g} s; is Kafka up?"
            )
        self.materializer = OutcomeMaterializer(
            self.dsn, s.gateway_schema, s.kafka_bootstrap, s.topic_prefix + OUTCOMES, self.codec
        )
        self.materializer.start()
        # Start-up is done: what it made (schemas, validators, the place tree so far) is frozen
        # out of the collector, and a batch's objects are collected less often; Python's older
        # thresholds are kept. Why, and what it saved: freeze_start_up.
        freeze_start_up()

    async def stop(self) -> None:
        if self.materializer is not None:
            self.materializer.stop()
        if self.places is not None:
            self.places.stop()
        if self.sink is not None:
            self.sink.close()
        if self.codec is not None:
            self.codec.registry.close()
        await self.pool.close()
        self.key_pool.close()

    def accept(self, caller: Credential, body: Any, received: datetime) -> Event:
        """The event ``body`` describes, stamped for ``caller``, if its scope allows it
        (``events.gateway.acceptance.accept`` against this gateway's place tree)."""
        assert self.places is not None
        return accept(caller, body, received, self.places.district_of)
