"""Typed configuration, one object per service, read from the environment at entry points.

Every setting has a local default that matches the stack `fengqiao stack up` starts, so a
fresh checkout works with no configuration at all. Environment variables use the ``FQ_``
prefix, e.g. ``FQ_KAFKA_BOOTSTRAP=broker:9092``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class StackSettings(BaseSettings):
    """Where the local stack lives and listens (``fengqiao stack``).

    Environment: ``FQ_DATA_DIR`` (default ``<project>/.data``), ``FQ_KAFKA_PORT`` (19092),
    ``FQ_KAFKA_CONTROLLER_PORT`` (19093), ``FQ_REGISTRY_PORT`` (18081), ``FQ_PG_PORT`` (15432),
    ``FQ_KAFKA_VERSION``, ``FQ_APICURIO_VERSION``, ``FQ_KAFKA_HEAP`` / ``FQ_REGISTRY_HEAP``,
    ``FQ_KAFKA_AUTH`` (``scram``, the default: SASL/SCRAM and the ACLs of ``infra.acls``;
    ``none``: plaintext, anyone may do anything).
    """

    model_config = SettingsConfigDict(env_prefix="FQ_", extra="ignore")

    data_dir: Path = PROJECT_ROOT / ".data"
    host: str = "127.0.0.1"
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    registry_port: int = 18081
    pg_port: int = 15432
    pg_user: str = "fengqiao"
    pg_password: SecretStr = SecretStr("fengqiao")
    pg_database: str = "fengqiao"
    kafka_version: str = "4.1.1"
    apicurio_version: str = "3.3.3"
    kafka_auth: Literal["none", "scram"] = "scram"
    kafka_heap: str = "1g"
    registry_heap: str = "512m"
    start_timeout_s: float = 180.0


class ConnectionSettings(BaseSettings):
    """How a client reaches the three services.

    Environment: ``FQ_KAFKA_BOOTSTRAP`` (``127.0.0.1:19092``), ``FQ_REGISTRY_URL``
    (``http://127.0.0.1:18081/apis/ccompat/v7``), ``FQ_PG_DSN``
    (``postgresql://fengqiao:fengqiao@127.0.0.1:15432/fengqiao``),
    ``FQ_REPLICATION_FACTOR`` (1, for topic creation).
    """

    model_config = SettingsConfigDict(env_prefix="FQ_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    registry_url: str = "http://127.0.0.1:18081/apis/ccompat/v7"
    pg_dsn: SecretStr = SecretStr("postgresql://fengqiao:fengqiao@127.0.0.1:15432/fengqiao")
    replication_factor: int = Field(default=1, ge=1)
