"""The gateway as ``fengqiao gateway`` serves it: the HTTP gateway with Open311 for residents'
apps, whose case states are read from the active projection's read models."""

from __future__ import annotations

from fastapi import FastAPI

from events.gateway.app import create_app
from events.gateway.open311.routes import router
from events.gateway.open311.settings import Open311Settings
from events.gateway.open311.states import CaseStates
from events.gateway.settings import GatewaySettings
from projections.open311_states import ProjectedCaseStates
from projections.settings import ProjectorSettings

__all__ = ["build_app", "from_environment", "projected_states"]


def projected_states(settings: GatewaySettings) -> ProjectedCaseStates:
    """The reader of the cases' states (``FQ_PROJECTION``'s active schema); it connects on
    its first read."""
    return ProjectedCaseStates(settings.pg_dsn.get_secret_value(), ProjectorSettings().projection)


def build_app(settings: GatewaySettings, open311: Open311Settings, states: CaseStates) -> FastAPI:
    """The gateway's app with the Open311 routes."""
    return create_app(settings, routers=[router(open311, states)])


def from_environment() -> FastAPI:
    """The app configured from ``FQ_*``: the factory each uvicorn worker process calls."""
    settings = GatewaySettings()
    return build_app(settings, Open311Settings(), projected_states(settings))
