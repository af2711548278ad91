"""``create_app(settings, routers=())``: the gateway's FastAPI app.

More routers (another API on the same credentials, e.g. for resident apps) are passed in
``routers`` and share the gateway's resources through ``request.app.state.gateway``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from events.gateway import routes_events, routes_outcomes
from events.gateway.openapi import request_schemas
from events.gateway.runtime import Gateway
from events.gateway.settings import GatewaySettings
from events.problems import install

__all__ = ["create_app", "from_environment"]

DESCRIPTION = """The way onto Fengqiao's inbox topics over HTTP, for systems that do not write
Kafka themselves. Each system has its own key (`fengqiao credentials create`), sent as
`Authorization: Bearer <key>` or `X-Api-Key`. A body is an event of the Avro contract
(`schemas/events`) in JSON, named by `event_type`, without `envelope.source_system` and
`envelope.recorded_time`, which the gateway stamps. Errors are RFC 9457 problem details, with
`detail` in English and `detail_zh` in Chinese."""


def create_app(settings: GatewaySettings, routers: Iterable[APIRouter] = ()) -> FastAPI:
    """The app; its connections open with the app's lifespan and close with it."""
    gateway = Gateway(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    app = FastAPI(
        title="Fengqiao gateway",
        summary="枫桥 事件网关 — submit events over HTTP, read their outcomes",
        description=DESCRIPTION,
        version="1",
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    install(app, "gateway")
    for router in (routes_events.router, routes_outcomes.router, *routers):
        app.include_router(router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            components = document.setdefault("components", {}).setdefault("schemas", {})
            components.update(request_schemas(settings.gateway_max_batch))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def from_environment() -> FastAPI:
    """The app configured from ``FQ_*``: the factory each uvicorn worker process calls."""
    return create_app(GatewaySettings())
