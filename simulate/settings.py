"""The simulator's settings, from ``FQ_SIM_*`` environment variables; the command's options
override them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SimulateSettings"]


class SimulateSettings(BaseSettings):
    """Defaults of ``fengqiao simulate``.

    Environment: ``FQ_SIM_SHAPE`` (``ningbo`` or ``zhuangshi``; ningbo), ``FQ_SIM_SEED``
    (20250101), ``FQ_SIM_DAYS`` (1: days of history in backfill mode), ``FQ_SIM_RATE`` (1000:
    events/s in live mode), ``FQ_SIM_INVALID_SHARE`` (0: share of cases that also carry one
    submission the workflow must refuse), ``FQ_SIM_BATCH`` (5000: events per publish call).
    """

    model_config = SettingsConfigDict(env_prefix="FQ_SIM_", extra="ignore")

    shape: Literal["ningbo", "zhuangshi"] = "ningbo"
    seed: int = 20250101
    days: int = Field(default=1, ge=1)
    rate: float = Field(default=1000.0, gt=0)
    invalid_share: float = Field(default=0.0, ge=0, le=1)
    batch: int = Field(default=5000, ge=1)
