"""Configuration of ``fengqiao gateway``, read from the environment at the entry point only."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["GatewaySettings"]


class GatewaySettings(BaseSettings):
    """Where the gateway listens, what it writes to and where it keeps its state.

    Environment (prefix ``FQ_``):
        ``FQ_GATEWAY_HOST`` (``127.0.0.1``), ``FQ_GATEWAY_PORT`` (8090): where it listens.
        ``FQ_GATEWAY_WORKERS`` (1): processes serving the port, each with its own producer,
            pools and outcome reader (they share PostgreSQL, so keys and answers hold across).
        ``FQ_KAFKA_BOOTSTRAP``, ``FQ_REGISTRY_URL``: the broker and the schema registry.
        ``FQ_TOPIC_PREFIX`` (empty): prepended to the inbox, outcome and reference topics.
        ``FQ_AUTO_REGISTER`` (false): register a missing schema on first use.
        ``FQ_PG_DSN``: PostgreSQL, where credentials, idempotency keys, submissions and the
            materialized outcomes live, in ``FQ_GATEWAY_SCHEMA`` (``gateway``).
        ``FQ_GATEWAY_LINGER_MS`` (1): how long the producer gathers records into a request.
        ``FQ_GATEWAY_ACK_TIMEOUT_S`` (15): how long a request waits for Kafka's acknowledgement
            before it is answered 503.
        ``FQ_GATEWAY_MAX_BATCH`` (1000): events in one ``POST /v1/events/batch``.
        ``FQ_GATEWAY_AUTH_CACHE_S`` (5): how long a verified key is trusted without reading
            its row again (a revocation takes effect within this time).
        ``FQ_GATEWAY_POOL`` (8): PostgreSQL connections serving requests.
        ``FQ_GATEWAY_POLL_S`` (0.2): how often an outcome stream looks for new outcomes.
        ``FQ_GATEWAY_STARTUP_TIMEOUT_S`` (60): how long start-up may take to read the place
            tree from the reference log before the gateway gives up.
    """

    model_config = SettingsConfigDict(env_prefix="FQ_", extra="ignore")

    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8090, ge=0, le=65535)
    gateway_workers: int = Field(default=1, ge=1, le=64)
    kafka_bootstrap: str = "127.0.0.1:19092"
    registry_url: str = "http://127.0.0.1:18081/apis/ccompat/v7"
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")
    auto_register: bool = False
    pg_dsn: SecretStr = SecretStr("postgresql://fengqiao:fengqiao@127.0.0.1:15432/fengqiao")
    gateway_schema: str = Field(default="gateway", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    gateway_linger_ms: int = Field(default=1, ge=0, le=1000)
    gateway_ack_timeout_s: float = Field(default=15.0, gt=0)
    gateway_max_batch: int = Field(default=1000, ge=1, le=100_000)
    gateway_auth_cache_s: float = Field(default=5.0, ge=0)
    gateway_pool: int = Field(default=8, ge=1, le=100)
    gateway_poll_s: float = Field(default=0.2, gt=0, le=60)
    gateway_startup_timeout_s: float = Field(default=60.0, gt=0)
