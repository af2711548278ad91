"""The JSON shapes the API answers with (and the OpenAPI schema documents): every panel's rows
with the unit, the period and how fresh the numbers are."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from domain.calendar import SHANGHAI
from projections.dashboard.watch import Position
from projections.reading import Answer

__all__ = ["Freshness", "PanelOut", "Tile", "freshness_of"]

RowT = TypeVar("RowT")


class Freshness(BaseModel):
    """数据截至: the event time the read models behind a panel are complete up to, and whether
    the projector has fallen behind the log."""

    complete_to: datetime | None = Field(description="event time the numbers are complete to")
    complete_to_local: str | None = Field(description="the same in Asia/Shanghai, to the minute")
    stale: bool = Field(description="the projector is behind the log by more than the threshold")
    behind: int | None = Field(description="canonical records not yet projected")
    position: int = Field(description="the projection's position (the live stream's event id)")


class Tile(BaseModel):
    kpi: str
    label: str
    kind: str
    unit: str
    value: float | None
    previous: float | None = Field(description="环比: the period before")
    year_before: float | None = Field(description="同比: the same period a year before")
    mom_change: float | None
    yoy_change: float | None
    sample: int | None = Field(description="the denominator (or the count itself)")
    lower_is_better: bool


class PanelOut(BaseModel, Generic[RowT]):
    """One panel's answer."""

    panel: str
    unit: str
    period: str | None = None
    period_kind: str | None = None
    freshness: Freshness
    rows: list[RowT]
    extra: dict[str, Any] | None = None


def freshness_of(answer: Answer | None, position: Position) -> Freshness:
    when = answer.complete_to if answer is not None else position.complete_to
    return Freshness(
        complete_to=when,
        complete_to_local=when.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if when else None,
        stale=position.stale,
        behind=position.behind,
        position=position.position,
    )
