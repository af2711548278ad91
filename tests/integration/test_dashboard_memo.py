"""Panel answers kept until the projection moves, over HTTP against a real projection: a
change of the read models that no commit of the projector announces stays unseen, and the
next checkpoint makes every panel read it."""

from __future__ import annotations

import time

from tests.integration.dashboard_helpers import Dashboard, dashboard

__all__ = ["dashboard"]

JUNE = {"period": "month", "at": "2025-06"}


def _reported(d: Dashboard) -> int:
    r = d.get("/api/v1/overview/tiles", **JUNE)
    assert r.status_code == 200, r.text
    value: int = next(t["value"] for t in r.json()["rows"] if t["kpi"] == "reported")
    return value


def _write(d: Dashboard, *statements: str) -> None:
    with d.world.conn() as c:
        c.execute(f'SET search_path TO "{d.schema}"')
        for statement in statements:
            c.execute(statement)  # type: ignore[arg-type]


def test_a_kept_answer_is_read_again_once_the_projection_moves(dashboard: Dashboard) -> None:
    before = _reported(dashboard)
    bump = (
        "UPDATE stats_period SET reported = reported + 1000 "
        "WHERE level = 'district' AND period = '2025-06' "
        "AND code = (SELECT min(code) FROM stats_period WHERE level = 'district')"
    )
    _write(dashboard, bump)  # as if written outside a projector's batch: no checkpoint moved
    time.sleep(1.0)  # the watch (every 0.2 s) has read the same position again
    assert _reported(dashboard) == before
    _write(
        dashboard,
        "UPDATE checkpoints SET next_offset = next_offset + 1 "
        "WHERE (topic, partition) = (SELECT topic, partition FROM checkpoints "
        "WHERE topic LIKE '%case.events' ORDER BY partition LIMIT 1)",
    )
    deadline = time.monotonic() + 10
    while _reported(dashboard) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _reported(dashboard) == before + 1000
