"""Queries of the arbitration of hand-offs (推诿): the cases flagged as handed off repeatedly
(多次推诿) and, per unit now, the requests awaiting a ruling and the flagged open cases.

Per period, the hand-off counters (``handoff_requests``, ``handoffs_upheld``,
``handoffs_refused``, ``handoffs_flagged``) are columns of ``queries.statistics`` like every
other counter. A flagged case counts for the places it was reported in and its current
department. Every answer carries its freshness.
"""

from __future__ import annotations

from typing import Any

import psycopg

from projections.reading import Answer, answer
from projections.supervision import Unit, unit_column

__all__ = ["HANDOFF_COLUMNS", "flagged_handoffs", "handoffs_now"]

HANDOFF_COLUMNS = (
    "c.case_id, c.status, c.title, c.department_code, c.district_code, c.street_code, "
    "c.grid_id, c.handoff_requests, c.handoffs_upheld, c.handoffs_refused, "
    "c.handoff_pending_since, c.handoff_flagged_at"
)
"""A case's hand-off columns (``cases c``), as the flagged lists show them."""
_OPEN = "c.status NOT IN ('rejected', 'closed')"


def flagged_handoffs(
    conn: psycopg.Connection[Any],
    projection: str,
    level: Unit | None = None,
    code: str | None = None,
) -> Answer:
    """The cases flagged as handed off repeatedly, open ones first, then the latest flagged;
    within one unit when ``level`` and ``code`` are given."""
    where, params = "c.handoff_flagged_at IS NOT NULL", {}
    if level is not None:
        where += f" AND c.{unit_column(level)} = %(code)s"
        params = {"code": code}
    query = (
        f"SELECT {HANDOFF_COLUMNS} FROM cases c WHERE {where} "
        f"ORDER BY ({_OPEN}) DESC, c.handoff_flagged_at DESC, c.case_id"
    )
    return answer(conn, projection, ["cases"], query, params)


def handoffs_now(conn: psycopg.Connection[Any], projection: str, level: Unit) -> Answer:
    """Per unit of ``level``, the open cases now with a hand-off request awaiting the ruling
    (``pending``) and those flagged as handed off repeatedly (``flagged``)."""
    column = unit_column(level)
    query = (
        f"SELECT c.{column} AS code, "
        "count(*) FILTER (WHERE c.handoff_pending_since IS NOT NULL)::bigint AS pending, "
        "count(*) FILTER (WHERE c.handoff_flagged_at IS NOT NULL)::bigint AS flagged "
        f"FROM cases c WHERE {_OPEN} AND c.{column} IS NOT NULL "
        "AND (c.handoff_pending_since IS NOT NULL OR c.handoff_flagged_at IS NOT NULL) "
        "GROUP BY 1 ORDER BY 1"
    )
    return answer(conn, projection, ["cases"], query)
