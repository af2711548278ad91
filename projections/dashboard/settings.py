"""Configuration of ``fengqiao serve``, read from the environment at the entry point only."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DashboardSettings"]


class DashboardSettings(BaseSettings):
    """Where the dashboard listens and what it reads.

    Environment (prefix ``FQ_``):
        ``FQ_DASHBOARD_HOST`` (``127.0.0.1``), ``FQ_DASHBOARD_PORT`` (8080): where it listens.
        ``FQ_PG_DSN``: PostgreSQL with the read models.
        ``FQ_PROJECTION`` (``city``): the projection shown (its active schema).
        ``FQ_KAFKA_BOOTSTRAP``, ``FQ_TOPIC_PREFIX``: the canonical logs, whose ends tell how far
            the projector is behind.
        ``FQ_DASHBOARD_STALE_AFTER_S`` (30): a panel turns stale when the projector has not
            reached the log's end of that many seconds ago.
        ``FQ_DASHBOARD_WATCH_S`` (1.0): how often the projection's position is read (once for
            every open page: pages are pushed to, they do not poll).
        ``FQ_DASHBOARD_POOL`` (8): PostgreSQL connections serving requests.
        ``FQ_DASHBOARD_SCOPE`` (empty: the whole city): what every viewer may see, e.g.
            ``street:zhenhai-s001`` or ``department:D-MZ``.
        ``FQ_DASHBOARD_MEMO`` (4096): panel answers kept until the projection moves
            (``memo.py``); 0 reads every answer afresh.
    """

    model_config = SettingsConfigDict(env_prefix="FQ_", extra="ignore")

    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = Field(default=8080, ge=0, le=65535)
    pg_dsn: SecretStr = SecretStr("postgresql://fengqiao:fengqiao@127.0.0.1:15432/fengqiao")
    projection: str = Field(default="city", pattern=r"^[a-z][a-z0-9_]{0,30}$")
    kafka_bootstrap: str = "127.0.0.1:19092"
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")
    dashboard_stale_after_s: float = Field(default=30.0, gt=0)
    dashboard_watch_s: float = Field(default=1.0, gt=0, le=60)
    dashboard_pool: int = Field(default=8, ge=1, le=100)
    dashboard_scope: str = ""
    dashboard_memo: int = Field(default=4096, ge=0, le=1_000_000)
