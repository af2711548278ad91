"""One case's page (案件): its header, its full trace (全程留痕), its deadlines and the
submissions to it that the workflow refused. One function per panel; each first finds the
case and checks that the viewer may see it (``header``), so every panel refuses alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from projections.panels.case_rules import case_in_scope, deadline_state, late_post
from projections.panels.scope import Scope
from projections.panels.sources import ScopeRefused
from projections.reading import Answer, freshness, snapshot

__all__ = [
    "CaseOutOfScope",
    "UnknownCase",
    "case_file",
    "deadlines",
    "earliest",
    "header",
    "rejections",
    "trace",
]


class UnknownCase(LookupError):
    """No case with that id in the read models."""


class CaseOutOfScope(ScopeRefused):
    """The case lies outside the viewer's scope (its place, or its departments)."""


# The names of the case's places (as it was reported) and of its department, from ``units``.
_HEADER = """
SELECT c.case_id, c.title, c.category_code, c.priority, c.channel, c.status,
       c.grid_id, g.name AS grid_name, c.village_code, v.name AS village_name,
       c.street_code, s.name AS street_name, c.district_code, d.name AS district_name,
       c.department_code, dep.name AS department_name, c.escalation_level,
       c.reporter_id, c.reporter_role, c.visit_id,
       c.reported_at, c.accepted_at, c.rejected_at, c.first_dispatched_at, c.dispatched_at,
       c.claimed_at, c.resolved_at, c.verified_at, c.closed_at, c.evaluated_at,
       c.transfers, c.returns, c.handoff_requests, c.handoffs_upheld, c.handoffs_refused,
       c.handoff_pending_since, c.handoff_flagged_at, c.reworks, c.reopens, c.extensions, c.extended_hours,
       c.escalations, c.suspended_since, c.suspended_hours, c.handling_hours, c.on_time,
       c.satisfaction, c.last_sequence,
       ARRAY(SELECT DISTINCT dl.department_code FROM deadlines dl
             WHERE dl.case_id = c.case_id AND dl.department_code IS NOT NULL
             ORDER BY 1) AS departments
FROM cases c
LEFT JOIN units g ON g.level = 'grid' AND g.code = c.grid_id
LEFT JOIN units v ON v.level = 'village' AND v.code = c.village_code
LEFT JOIN units s ON s.level = 'street' AND s.code = c.street_code
LEFT JOIN units d ON d.level = 'district' AND d.code = c.district_code
LEFT JOIN units dep ON dep.level = 'department' AND dep.code = c.department_code
WHERE c.case_id = %(case_id)s
"""

_TRACE = """
SELECT sequence, event_type, event_id, event_time, recorded_time, actor_id, actor_role,
       source_system, summary
FROM case_timeline WHERE case_id = %(case_id)s ORDER BY sequence
"""

_DEADLINES = """
SELECT * FROM deadlines WHERE case_id = %(case_id)s ORDER BY started_at, deadline_id
"""

_REJECTIONS = """
SELECT event_id, submission_event_id, event_type, code, message, source_system,
       event_time, recorded_time
FROM rejections WHERE case_id = %(case_id)s ORDER BY event_time, event_id
"""

# Each part after the header: its query and the tables its freshness is that of.
_PARTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "trace": (_TRACE, ("case_timeline",)),
    "deadlines": (_DEADLINES, ("deadlines",)),
    "rejections": (_REJECTIONS, ("cases", "rejections")),
}


def _read(
    conn: psycopg.Connection[Any],
    schema: str,
    scope: Scope,
    case_id: str,
    parts: Sequence[str],
) -> dict[str, Answer]:
    """Inside an open snapshot of ``schema``: the case's header, checked against ``scope``, and ``parts``
    (``_PARTS`` names), each an answer with its freshness.

    Raises:
        UnknownCase: no such case.
        CaseOutOfScope: the viewer may not see it.
    """
    fresh: dict[tuple[str, ...], datetime | None] = {}

    def read(query: str, tables: tuple[str, ...]) -> Answer:
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(query, {"case_id": case_id}).fetchall()
        if tables not in fresh:
            fresh[tables] = freshness(conn, tables)
        return Answer(rows, fresh[tables], schema)

    head = read(_HEADER, ("cases",))
    if not head.rows:
        raise UnknownCase(f"no case {case_id!r} in the read models")
    row = head.rows[0]
    if not case_in_scope(row, row["departments"], scope):
        raise CaseOutOfScope(f"case {case_id} lies outside your scope")
    found = {"header": head}
    for part in parts:
        query, tables = _PARTS[part]
        found[part] = read(query, tables)
    if "trace" in found:
        for step in found["trace"].rows:
            step["late"] = late_post(step["event_time"], step["recorded_time"])
    if "deadlines" in found:
        for due in found["deadlines"].rows:
            due["status"] = deadline_state(due)
    return found


def case_file(
    conn: psycopg.Connection[Any], projection: str, scope: Scope, case_id: str
) -> dict[str, Answer]:
    """The case's header, trace, deadlines and rejections (as the functions of those names
    give them), read in one snapshot: one transaction, one state of the read models.

    Raises:
        UnknownCase, CaseOutOfScope: as ``header``.
    """
    with snapshot(conn, projection) as schema:
        return _read(conn, schema, scope, case_id, ("trace", "deadlines", "rejections"))


def _one(
    conn: psycopg.Connection[Any], projection: str, scope: Scope, case_id: str, part: str
) -> Answer:
    with snapshot(conn, projection) as schema:
        return _read(conn, schema, scope, case_id, () if part == "header" else (part,))[part]


def header(conn: psycopg.Connection[Any], projection: str, scope: Scope, case_id: str) -> Answer:
    """The case's one row: what it is, where (names from ``units``), who holds it, every
    stage's time, on time and satisfaction; ``departments``: those that held a deadline.

    Raises:
        UnknownCase: no such case.
        CaseOutOfScope: the viewer may not see it.
    """
    return _one(conn, projection, scope, case_id, "header")


def trace(conn: psycopg.Connection[Any], projection: str, scope: Scope, case_id: str) -> Answer:
    """Every step of the case in sequence: what, who, when it happened and when it was
    recorded (``late``: posted late), from which system, and its summary.

    Raises:
        UnknownCase, CaseOutOfScope: as ``header``.
    """
    return _one(conn, projection, scope, case_id, "trace")


def deadlines(conn: psycopg.Connection[Any], projection: str, scope: Scope, case_id: str) -> Answer:
    """The case's SLA deadlines in the order they started: stage, due time, working hours,
    status, lateness, and the policy and calendar versions each was computed with.

    Raises:
        UnknownCase, CaseOutOfScope: as ``header``.
    """
    return _one(conn, projection, scope, case_id, "deadlines")


def rejections(
    conn: psycopg.Connection[Any], projection: str, scope: Scope, case_id: str
) -> Answer:
    """The submissions to the case that the workflow refused, in the order they were made:
    what was sent (event type and id), from which system, the code and the message.

    Freshness is that of the case and the refusals together: a case with none refused has
    no refusal to date it by.

    Raises:
        UnknownCase, CaseOutOfScope: as ``header``.
    """
    return _one(conn, projection, scope, case_id, "rejections")


def earliest(*answers: Answer) -> datetime | None:
    """The freshness of answers shown together: the earliest of theirs."""
    known = [a.complete_to for a in answers if a.complete_to is not None]
    return min(known) if known else None
