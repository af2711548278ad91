"""The units a panel can show: whether one exists and the viewer may see it, its name and its
chain of parents (the breadcrumb), and its children (the drill-down)."""

from __future__ import annotations

from typing import Any

import psycopg

from projections.panels.scope import CHAIN_COLUMN, PLACE_LEVELS, Scope, Unit
from projections.panels.sources import ScopeRefused
from projections.reading import Answer, answer

__all__ = ["UnknownUnit", "describe"]


class UnknownUnit(LookupError):
    """No unit of that level and code in the reference data."""


def describe(conn: psycopg.Connection[Any], projection: str, unit: Unit, scope: Scope) -> Answer:
    """``unit``'s name and its parents from the district down (one row each, the unit last).

    Raises:
        UnknownUnit: the reference data names no such unit.
        ScopeRefused: it lies outside ``scope``.
    """
    if unit.level == "city":
        if scope.place is not None or scope.department is not None:
            raise ScopeRefused(f"scope {_scope_text(scope)} does not cover the whole city")
        return answer(
            conn, projection, (), "SELECT 'city' AS level, 'city' AS code, '全市' AS name"
        )
    found = answer(
        conn,
        projection,
        (),
        "SELECT level, code, name, district_code, street_code, village_code, grid_id "
        "FROM units WHERE level = %s AND code = %s",
        (unit.level, unit.code),
    )
    if not found.rows:
        raise UnknownUnit(f"no {unit.level} with code {unit.code!r} in the reference data")
    row = found.rows[0]
    if scope.department is not None and (unit.level, unit.code) != ("department", scope.department):
        raise ScopeRefused(f"scope {_scope_text(scope)} does not cover {unit.key}")
    if scope.place is not None and row.get(CHAIN_COLUMN[scope.place.level]) != scope.place.code:
        raise ScopeRefused(f"scope {_scope_text(scope)} does not cover {unit.key}")
    chain = [
        (level, row[CHAIN_COLUMN[level]])
        for level in PLACE_LEVELS[1:]
        if row.get(CHAIN_COLUMN[level]) and level != unit.level
    ]
    if not chain:
        return found
    names = answer(
        conn,
        projection,
        (),
        "SELECT level, code, name FROM units WHERE (level, code) IN (SELECT * FROM "
        "unnest(%s::text[], %s::text[]))",
        ([lvl for lvl, _ in chain], [code for _, code in chain]),
    )
    by_level = {r["level"]: r for r in names.rows}
    rows = [by_level[lvl] for lvl, _ in chain if lvl in by_level] + [
        {"level": row["level"], "code": row["code"], "name": row["name"]}
    ]
    return Answer(rows, found.complete_to, found.schema)


def _scope_text(scope: Scope) -> str:
    parts = [scope.place.key] if scope.place else []
    if scope.department:
        parts.append(f"department:{scope.department}")
    return " + ".join(parts) or "city"
