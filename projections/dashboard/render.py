"""Rendering: the Jinja2 environment with the filters pages share (numbers as the domain
writes them, times in Asia/Shanghai, Chinese names of statuses and events), and the context
every page gets (navigation, unit, period)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.templating import Jinja2Templates

from domain.calendar import SHANGHAI
from projections.panels import terms
from projections.panels.periods import Period
from projections.panels.scope import LEVEL_ZH, Unit, child_level

__all__ = ["NAV", "page_context", "query", "templates"]

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")

NAV = (
    ("overview", "总览", "/overview"),
    ("rankings", "排名", "/rankings"),
    ("overdue", "超期", "/overdue"),
    ("hotwords", "热词", "/hotwords"),
    ("workers", "网格员", "/workers"),
    ("map", "地图", "/map"),
    ("cases", "案件", "/cases"),
)


def query(**params: Any) -> str:
    """A query string of the non-empty ``params``."""
    return urlencode({k: v for k, v in params.items() if v is not None and v != ""})


def _number(value: float | None, unit: str = "件") -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit in ("分", "工时", "件/次"):
        return f"{value:.2f}"
    return f"{value:,.0f}"


def _change(value: float | None, rate: bool) -> str:
    if value is None:
        return "—"
    arrow = "↑" if value > 0 else ("↓" if value < 0 else "→")
    if rate:
        return f"{arrow}{abs(value) * 100:.1f}个百分点"
    return f"{arrow}{abs(value) * 100:.1f}%"


def _local(value: datetime | None, form: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    return value.astimezone(SHANGHAI).strftime(form)


def _day(value: date | None) -> str:
    return value.isoformat() if value else "—"


# Rows carry dates and instants; charts read them as ISO text.
templates.env.policies["json.dumps_kwargs"] = {"default": str, "ensure_ascii": False}
templates.env.filters.update(
    number=_number,
    change=_change,
    local=_local,
    day=_day,
    status_zh=lambda s: terms.STATUS.get(s, s),
    event_zh=lambda e: terms.EVENT.get(e, e),
    level_zh=lambda lvl: LEVEL_ZH.get(lvl, lvl),
)


def page_context(
    active: str, unit: Unit, period: Period, crumbs: list[dict[str, Any]], **more: Any
) -> dict[str, Any]:
    """What every page's frame shows: the navigation, where one is, which period."""
    here = query(unit=unit.key, period=period.kind, at=period.label)
    return {
        "nav": NAV,
        "active": active,
        "unit": unit,
        "unit_key": unit.key,
        "child_level": child_level(unit.level),
        "period": period,
        "crumbs": crumbs,
        "qs": here,
        "prev_qs": query(unit=unit.key, period=period.kind, at=period.previous().label),
        "next_qs": query(unit=unit.key, period=period.kind, at=period.next().label),
        "level_zh": LEVEL_ZH,
        **more,
    }
