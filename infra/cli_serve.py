"""``fengqiao serve``: the operators' command centre, a web app over the read models."""

from __future__ import annotations

import typer

from events.kafka_access import acting_as
from infra.cli import err_console, reports_errors
from infra.cli_process import _reflowed

__all__ = ["register", "serve"]


def register(app: typer.Typer) -> None:
    """Mount ``serve`` on the ``fengqiao`` command."""
    app.command("serve", help=_reflowed(serve.__doc__ or ""))(serve)


@reports_errors
@acting_as("dashboard")
def serve() -> None:
    """Serve the dashboard (pages and the JSON API under /api/v1, OpenAPI at /docs) until
    Ctrl-C or SIGTERM. It only reads: the active schema of the projection and the canonical
    logs' ends (to say how far behind the projector is).

    Environment: FQ_DASHBOARD_HOST (127.0.0.1), FQ_DASHBOARD_PORT (8080), FQ_PG_DSN,
    FQ_PROJECTION (city), FQ_KAFKA_BOOTSTRAP, FQ_TOPIC_PREFIX, FQ_DASHBOARD_STALE_AFTER_S (30),
    FQ_DASHBOARD_WATCH_S (1.0), FQ_DASHBOARD_POOL (8), FQ_DASHBOARD_SCOPE (the whole city).
    """
    import uvicorn

    from projections.dashboard.app import create_app
    from projections.dashboard.settings import DashboardSettings

    settings = DashboardSettings()
    app = create_app(settings)
    host, port = settings.dashboard_host, settings.dashboard_port
    err_console.print(f"dashboard on http://{host}:{port}/ (projection {settings.projection})")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
