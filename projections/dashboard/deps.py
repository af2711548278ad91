"""FastAPI dependencies: a connection from the pool, the viewer's scope, and the parameters
every panel shares (unit, period), parsed into the panels' own types with a problem+json
refusal naming the parameter and what is allowed."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import psycopg
from fastapi import Depends, Query, Request

from domain.calendar import SHANGHAI
from events.problems import Problem
from projections.dashboard.memo import Memo
from projections.dashboard.settings import DashboardSettings
from projections.dashboard.watch import Position, Watch
from projections.panels.kpis import KPIS, Kpi
from projections.panels.periods import KINDS, Period, PeriodError, containing, parse_period
from projections.panels.scope import LEVELS, Scope, Unit, UnitError, parse_unit
from projections.panels.units import describe
from projections.reading import Answer

A = TypeVar("A", bound=Answer)

__all__ = [
    "Conn",
    "Panel",
    "PanelArgs",
    "ViewerScope",
    "kpi_param",
    "kpi_query",
    "panel_args",
    "unit_param",
]


# The forms of a unit and of a period's label, for the OpenAPI document; whether a day exists,
# or the label fits the kind of period, is for the parsers to say.
UNIT_PATTERN = r"^(city|(" + "|".join(LEVELS[1:]) + r"):[A-Za-z0-9._-]{1,64})$"
AT_PATTERN = r"^\d{4}-((0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?|Q[1-4])$"


def connection(request: Request) -> Iterator[psycopg.Connection[Any]]:
    with request.app.state.pool.connection() as conn:
        yield conn


Conn = Annotated[psycopg.Connection[Any], Depends(connection)]


def viewer_scope(request: Request) -> Scope:
    """What the viewer may see. Every operator sees the whole city today; the scope is set
    for the whole app (``FQ_DASHBOARD_SCOPE``) until operators sign in."""
    scope: Scope = request.app.state.scope
    return scope


ViewerScope = Annotated[Scope, Depends(viewer_scope)]


def settings_of(request: Request) -> DashboardSettings:
    settings: DashboardSettings = request.app.state.settings
    return settings


def unit_param(
    unit: Annotated[
        str,
        Query(
            description="the unit looked at: `city` or `<level>:<code>`, level one of "
            + ", ".join(LEVELS[1:]),
            max_length=80,
            examples=["city", "district:zhenhai"],
            # Documented for clients (and fuzzers); checked by parse_unit, whose refusal says
            # what is allowed.
            json_schema_extra={"pattern": UNIT_PATTERN},
        ),
    ] = "city",
) -> Unit:
    try:
        return parse_unit(unit)
    except UnitError as exc:
        raise Problem(
            422,
            "invalid unit",
            str(exc),
            "unit",
            ["city", *(f"{lvl}:<code>" for lvl in LEVELS[1:])],
        ) from exc


def period_param(
    period: Annotated[
        Literal["day", "month", "quarter"],
        Query(description="the kind of period (Asia/Shanghai)"),
    ] = "month",
    at: Annotated[
        str | None,
        Query(
            description="which one: YYYY-MM-DD, YYYY-MM or YYYY-Qn for day, month or quarter; "
            "the current one when left out",
            max_length=10,
            examples=["2026-11"],
            json_schema_extra={"pattern": AT_PATTERN},
        ),
    ] = None,
) -> Period:
    if at is None:
        return containing(period, datetime.now(SHANGHAI).date())
    try:
        return parse_period(period, at)
    except PeriodError as exc:
        raise Problem(422, "invalid period", str(exc), "at", list(KINDS)) from exc


def kpi_query(
    allowed: Sequence[str], default: str, what: str = "a KPI", title: str = "unknown KPI"
) -> Callable[..., Kpi]:
    """A ``kpi`` query parameter taking one of ``allowed`` (the document lists them), refused
    otherwise with 422 naming ``kpi`` and what is allowed."""
    names = list(allowed)
    name_param = Annotated[
        str,
        Query(
            alias="kpi",
            description=f"{what}: " + ", ".join(names),
            max_length=40,
            json_schema_extra={"enum": names},
        ),
    ]

    def kpi_param(kpi_name: str = default) -> Kpi:
        if kpi_name not in names:
            detail = f"KPI {kpi_name!r} is not one of {', '.join(names)}"
            raise Problem(422, title, detail, "kpi", names)
        return KPIS[kpi_name]

    # The parameter's declaration is made here, from ``allowed``: as an annotation written in
    # the signature it would be a string (postponed evaluation) FastAPI cannot resolve.
    kpi_param.__annotations__["kpi_name"] = name_param
    return kpi_param


kpi_param = kpi_query(tuple(KPIS), "reported")


@dataclass(frozen=True)
class PanelArgs:
    """What a panel is asked for: by whom, of which unit, over which period."""

    conn: psycopg.Connection[Any]
    projection: str
    scope: Scope
    unit: Unit
    period: Period
    watch: Watch
    memo: Memo | None = None

    @property
    def position(self) -> Position:
        return self.watch.current

    def remember(self, panel: str, compute: Callable[[], A], *more: Hashable) -> A:
        """``compute()``'s answer for this unit, period and scope, kept until the projection
        moves (``memo``); ``more``: the panel's other parameters. Not for answers that
        depend on the wall clock."""
        if self.memo is None:
            return compute()
        key = (panel, self.unit, self.period, self.scope, *more)
        return self.memo.answer(self.position, key, compute)

    def described(self) -> Answer:
        """The unit's name and parents (``units.describe``), kept as ``panel_args`` keeps it."""
        return _described(self.memo, self.watch, self.conn, self.projection, self.unit, self.scope)


def _described(
    memo: Memo | None,
    watch: Watch,
    conn: psycopg.Connection[Any],
    projection: str,
    unit: Unit,
    scope: Scope,
) -> Answer:
    if memo is None:
        return describe(conn, projection, unit, scope)
    return memo.answer(
        watch.current, ("describe", unit, scope), lambda: describe(conn, projection, unit, scope)
    )


def panel_args(
    request: Request,
    conn: Conn,
    scope: ViewerScope,
    unit: Annotated[Unit, Depends(unit_param)],
    period: Annotated[Period, Depends(period_param)],
) -> PanelArgs:
    settings = settings_of(request)
    watch: Watch = request.app.state.watch
    memo: Memo | None = request.app.state.memo
    # An unknown unit, or one outside the viewer's scope, is refused before any panel runs
    # (a refusal is raised, never kept; a unit found is, as long as the projection stands).
    _described(memo, watch, conn, settings.projection, unit, scope)
    return PanelArgs(conn, settings.projection, scope, unit, period, watch, memo)


Panel = Annotated[PanelArgs, Depends(panel_args)]
