"""Configuration of the projector, replay and queries (``fengqiao project|replay|projections``).

Read from the environment at the entry point only and passed down.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ProjectorSettings"]


class ProjectorSettings(BaseSettings):
    """How the projector connects, which topics it reads and how it batches.

    Environment (prefix ``FQ_``):
        ``FQ_KAFKA_BOOTSTRAP``: Kafka bootstrap servers (``127.0.0.1:19092``).
        ``FQ_REGISTRY_URL``: the schema registry (``http://127.0.0.1:18081/apis/ccompat/v7``).
        ``FQ_PG_DSN``: PostgreSQL (``postgresql://fengqiao:fengqiao@127.0.0.1:15432/fengqiao``).
        ``FQ_TOPIC_PREFIX``: prepended to every topic name (empty), as for the workflow.
        ``FQ_PROJECTION``: the projection's name (``city``); its live schema is whichever
            ``fengqiao projections promote`` made active (``fq_city_live`` at first).
        ``FQ_PROJECTOR_BATCH``: records per batch and transaction (5000).
        ``FQ_REPLAY_BATCH``: the same for ``fengqiao replay`` (100,000): larger batches
            rewrite a case's row and a unit's daily counters less often.
        ``FQ_PROJECTOR_MAX_WAIT_S``: the longest a partly filled batch waits (0.5).
        ``FQ_PROJECTOR_CACHE_CASES``: cases kept in memory between batches (1,000,000);
            beyond it the projector reloads cases from PostgreSQL as they come back.
    """

    model_config = SettingsConfigDict(env_prefix="FQ_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    registry_url: str = "http://127.0.0.1:18081/apis/ccompat/v7"
    pg_dsn: SecretStr = SecretStr("postgresql://fengqiao:fengqiao@127.0.0.1:15432/fengqiao")
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")
    projection: str = Field(default="city", pattern=r"^[a-z][a-z0-9_]{0,30}$")
    projector_batch: int = Field(default=5000, ge=1, le=1_000_000)
    replay_batch: int = Field(default=100_000, ge=1, le=1_000_000)
    projector_max_wait_s: float = Field(default=0.5, gt=0, le=60)
    projector_cache_cases: int = Field(default=1_000_000, ge=1000)

    def topic(self, name: str) -> str:
        """The physical topic of the logical topic ``name`` (``events.topics``)."""
        return f"{self.topic_prefix}{name}"
