"""Configuration of the gateway's Open311 API, read from the environment at the entry point."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Open311Settings"]


class Open311Settings(BaseSettings):
    """Environment (prefix ``FQ_``):
    ``FQ_OPEN311_JURISDICTION_ID`` (``ningbo.gov.cn``): the one jurisdiction served; a request
    naming another is answered 404, one naming none is served (the spec lets a server of one
    jurisdiction treat it as optional).
    ``FQ_OPEN311_WAIT_S`` (60): how long start-up may take to read the services and grids.
    """

    model_config = SettingsConfigDict(env_prefix="FQ_", extra="ignore")

    open311_jurisdiction_id: str = Field(default="ningbo.gov.cn", min_length=1, max_length=200)
    open311_wait_s: float = Field(default=60.0, gt=0)
