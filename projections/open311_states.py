"""The case states Open311's ``GET requests`` shows, read from the active projection's read
models (``cases`` and ``deadlines``) for the gateway (``events.gateway.open311.states``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from events.gateway.open311.states import CaseState
from projections.versions import active_schema

__all__ = ["ProjectedCaseStates"]

# The deadline a resident waits on: the one still running, else the case's last one.
_STATES = """
SELECT c.case_id, c.status, c.department_code,
       coalesce(c.last_event_time, c.reported_at) AS updated_at,
       (SELECT d.due_time FROM {schema}.deadlines d WHERE d.case_id = c.case_id
        ORDER BY (d.done_at IS NULL AND NOT d.cancelled) DESC, d.due_time DESC
        LIMIT 1) AS expected_at
FROM {schema}.cases c WHERE c.case_id = ANY(%s)
"""


class ProjectedCaseStates:
    """Reads the states through a small pool of its own, opened on the first read (in the
    worker process that serves it); ``close`` ends it."""

    def __init__(self, dsn: str, projection: str) -> None:
        self.projection = projection
        self.pool = ConnectionPool(
            dsn, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
        )

    def close(self) -> None:
        self.pool.close()

    def __call__(self, case_ids: Sequence[str]) -> Mapping[str, CaseState]:
        if not case_ids:
            return {}
        if self.pool.closed:  # the first read in the process serving (open twice is safe)
            self.pool.open(wait=True)
        with self.pool.connection() as conn:
            schema = active_schema_or_none(conn, self.projection)
            if schema is None:
                return {}
            query = sql.SQL(_STATES).format(schema=sql.Identifier(schema))
            with conn.cursor(row_factory=dict_row) as cur:
                rows = cur.execute(query, (list(case_ids),)).fetchall()
        return {r["case_id"]: CaseState(**r) for r in rows}


def active_schema_or_none(conn: Any, projection: str) -> str | None:
    """The active schema, or ``None`` before any projector made one."""
    exists = conn.execute("SELECT to_regclass('fq_meta.active_projection')").fetchone()
    return None if exists is None or exists[0] is None else active_schema(conn, projection)
