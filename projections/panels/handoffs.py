"""The 多次推诿 panel: the cases of a unit flagged in the period as handed off repeatedly
(two hand-off requests or more, ``domain.handoff.HANDOFF_FLAG_AT``), the latest
flagged first, a page at a time with ``total``.

A place's flagged cases are those reported in it; a department's, those it holds now (an
upheld request moves a case on, so the department that asked may no longer hold it; the
counter ``handoffs_flagged`` credits the department that asked).
"""

from __future__ import annotations

from typing import Any

import psycopg

from projections.handoffs import HANDOFF_COLUMNS
from projections.panels import terms
from projections.panels.paging import PAGE, page_params
from projections.panels.periods import Period
from projections.panels.scope import Scope, Unit
from projections.panels.sources import cases_of
from projections.reading import Answer, answer

__all__ = ["flagged"]


def flagged(
    conn: psycopg.Connection[Any],
    projection: str,
    scope: Scope,
    unit: Unit,
    period: Period,
    limit: int = 50,
    offset: int = 0,
) -> Answer:
    """The cases of ``unit`` flagged as handed off repeatedly within ``period``, the latest
    first, each with its requests (upheld, refused), whether one awaits the ruling, its
    status in Chinese (``status_zh``) and ``total``; a page of ``limit`` rows (at most
    ``paging.MAX_ROWS``) from ``offset``.

    Raises:
        UnitError: ``unit`` is a worker.
    """
    where, params = cases_of(scope, unit, "c.department_code")
    query = (
        "WITH f AS MATERIALIZED (SELECT c.case_id, c.handoff_flagged_at FROM cases c "
        f"WHERE c.handoff_flagged_at >= %(t0)s AND c.handoff_flagged_at < %(t1)s AND {where}) "
        f"SELECT (SELECT count(*) FROM f) AS total, {HANDOFF_COLUMNS} "
        f"FROM (SELECT case_id FROM f ORDER BY handoff_flagged_at DESC, case_id {PAGE}) page "
        "JOIN cases c USING (case_id) ORDER BY c.handoff_flagged_at DESC, c.case_id"
    )
    params |= {"t0": period.start_at, "t1": period.end_at, **page_params(limit, offset)}
    found = answer(conn, projection, ("cases",), query, params)
    for row in found.rows:
        row["status_zh"] = terms.STATUS.get(row["status"], row["status"])
    return found
