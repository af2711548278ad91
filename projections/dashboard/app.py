"""``create_app(settings)``: the dashboard's FastAPI app, its connection pool and its watch of
the projection, its routers, its static files and its error answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from psycopg_pool import ConnectionPool

from events.problems import Problem, install
from projections.dashboard import (
    api,
    api_case,
    api_hotwords,
    api_map,
    api_overdue,
    api_rankings,
    api_workers,
    live,
    pages,
    pages_case,
    pages_hotwords,
    pages_map,
    pages_overdue,
    pages_rankings,
    pages_workers,
)
from projections.dashboard.memo import Memo
from projections.dashboard.render import HERE
from projections.dashboard.settings import DashboardSettings
from projections.dashboard.watch import Watch
from projections.errors import ProjectionError, UnknownProjection
from projections.panels.case import CaseOutOfScope, UnknownCase
from projections.panels.drill import DrillError
from projections.panels.kpis import KpiError
from projections.panels.mapview import MapError
from projections.panels.overdue import GroupingError
from projections.panels.periods import PeriodError
from projections.panels.scope import Scope, UnitError, parse_unit
from projections.panels.sources import NoChildUnits, ScopeRefused
from projections.panels.units import UnknownUnit
from projections.panels.workers import WorkersError

__all__ = ["create_app", "parse_scope"]


def parse_scope(text: str) -> Scope:
    """``FQ_DASHBOARD_SCOPE``: empty (the city), a place (``street:…``), a department
    (``department:…``), or a place and a department joined by ``+``."""
    place, department = None, None
    for part in filter(None, text.split("+")):
        unit = parse_unit(part.strip())
        if unit.level == "department":
            department = unit.code
        else:
            place = unit
    return Scope(place, department)


# Domain refusals and what they are over HTTP: status, title, the parameter at fault.
_REFUSALS: tuple[tuple[type[Exception], int, str, str | None], ...] = (
    (UnknownUnit, 404, "unknown unit", "unit"),
    (UnknownCase, 404, "unknown case", "case_id"),
    (CaseOutOfScope, 403, "outside your scope", "case_id"),
    (ScopeRefused, 403, "outside your scope", "unit"),
    (UnitError, 422, "invalid unit", "unit"),
    (NoChildUnits, 422, "no child units", "unit"),
    (PeriodError, 422, "invalid period", "at"),
    (KpiError, 422, "unknown KPI", "kpi"),
    (DrillError, 422, "no such drill", "part"),
    (MapError, 422, "no such map", "level"),
    (WorkersError, 422, "no grids or workers", "unit"),
    (GroupingError, 422, "invalid grouping", "by"),
    (UnknownProjection, 503, "no projection yet", None),
    (ProjectionError, 422, "invalid request", None),
    (psycopg.OperationalError, 503, "read models unavailable", None),
)


def create_app(settings: DashboardSettings) -> FastAPI:
    """The app; its pool and watch start with the app's lifespan and stop with it."""
    dsn = settings.pg_dsn.get_secret_value()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool.open(wait=False)
        app.state.watch.start()
        try:
            yield
        finally:
            app.state.watch.stop()
            app.state.pool.close()

    app = FastAPI(
        title="Fengqiao command centre",
        summary="枫桥 综合指挥 — the read models of the whole city, live",
        version="1",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.scope = parse_scope(settings.dashboard_scope)
    app.state.pool = ConnectionPool(
        dsn, min_size=1, max_size=settings.dashboard_pool, open=False, kwargs={"autocommit": False}
    )
    app.state.watch = Watch(
        dsn,
        settings.projection,
        settings.kafka_bootstrap,
        settings.topic_prefix,
        settings.dashboard_watch_s,
        settings.dashboard_stale_after_s,
    )
    app.state.memo = Memo(settings.dashboard_memo) if settings.dashboard_memo else None
    install(app, "dashboard")
    for kind, status, title, parameter in _REFUSALS:
        app.add_exception_handler(kind, _refusal(status, title, parameter))
    apis = (api, api_rankings, api_overdue, api_hotwords, api_workers, api_map, api_case, live)
    views = (
        pages,
        pages_rankings,
        pages_overdue,
        pages_hotwords,
        pages_workers,
        pages_map,
        pages_case,
    )
    for module in (*apis, *views):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app


def _refusal(status: int, title: str, parameter: str | None):  # type: ignore[no-untyped-def]
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        problem = Problem(status, title, str(exc) or title, parameter)
        handler = request.app.exception_handlers[Problem]
        response: JSONResponse = await handler(request, problem)
        return response

    return handle
