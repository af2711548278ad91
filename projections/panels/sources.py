"""Where a panel's numbers come from: the rollup that holds a period's counters, and the SQL
that picks a unit's rows (or its children's) within the viewer's scope. Every value reaches
PostgreSQL as a parameter; only names from the fixed lists here are spliced into SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from projections.panels.periods import Period
from projections.panels.scope import CHAIN_COLUMN, Scope, Unit, UnitError, child_level

__all__ = [
    "STATS_TABLES",
    "NoChildUnits",
    "ScopeRefused",
    "cases_of",
    "period_source",
    "rows_of",
    "scope_clause",
]


# The counters' rollups (``period_source`` picks one): their freshness is that of their streams.
STATS_TABLES = ("stats_daily", "stats_period")


class ScopeRefused(PermissionError):
    """The unit asked for lies outside the viewer's scope."""


class NoChildUnits(ValueError):
    """A drill-down asked of a unit with nothing below it (a grid, a department, a worker)."""


@dataclass(frozen=True)
class Source:
    """A rollup table, the column its periods are keyed by, and the keys of some periods."""

    table: str
    column: str
    keys: list[Any]


def period_source(*periods: Period) -> Source:
    """The rollup holding these periods (all of one kind): days in ``stats_daily``, months and
    quarters in ``stats_period``: a quarter of a whole city's grids is ~12,000 rows, not a
    million."""
    kinds = {p.kind for p in periods}
    if len(kinds) != 1:
        raise ValueError(f"periods of one kind only, got {sorted(kinds)}")
    if kinds == {"day"}:
        return Source("stats_daily", "day", [p.start for p in periods])
    return Source("stats_period", "period", [p.label for p in periods])


def cases_of(scope: Scope, unit: Unit, department: str) -> tuple[str, dict[str, Any]]:
    """SQL keeping the cases (``c``) of ``unit`` within ``scope``: a place's by where they
    were reported, a department's by the ``department`` column given (``d.department_code``
    of their deadlines, ``c.department_code`` of the cases).

    Raises:
        UnitError: ``unit`` is a worker.
    """
    parts: list[str] = []
    params: dict[str, Any] = {}
    if unit.level == "worker":
        raise UnitError("cases and their deadlines are a place's or a department's, not a worker's")
    if unit.level in CHAIN_COLUMN:
        parts.append(f"c.{CHAIN_COLUMN[unit.level]} = %(unit_code)s")
    elif unit.level == "department":
        parts.append(f"{department} = %(unit_code)s")
    params["unit_code"] = unit.code
    if scope.place is not None:
        parts.append(f"c.{CHAIN_COLUMN[scope.place.level]} = %(scope_place)s")
        params["scope_place"] = scope.place.code
    if scope.department is not None:
        parts.append(f"{department} = %(scope_dept)s")
        params["scope_dept"] = scope.department
    return " AND ".join(parts) or "TRUE", params


def scope_clause(scope: Scope, alias: str = "s") -> tuple[str, dict[str, Any]]:
    """SQL keeping the rows (``level``, ``code`` columns of ``alias``) the viewer may see."""
    parts, params = [], {}
    if scope.place is not None:
        column = CHAIN_COLUMN[scope.place.level]
        parts.append(
            f"EXISTS (SELECT 1 FROM units u WHERE u.level = {alias}.level "
            f"AND u.code = {alias}.code AND u.{column} = %(scope_place)s)"
        )
        params["scope_place"] = scope.place.code
    if scope.department is not None:
        parts.append(f"({alias}.level = 'department' AND {alias}.code = %(scope_dept)s)")
        params["scope_dept"] = scope.department
    return (" AND ".join(parts) or "TRUE"), params


def rows_of(
    unit: Unit, scope: Scope, children: bool = False, alias: str = "s"
) -> tuple[str, dict[str, Any]]:
    """SQL picking the counter rows of ``unit`` (the city: its districts, summed by the
    caller) or, with ``children``, of the units one level below it, within ``scope``.

    Raises:
        ScopeRefused: the viewer may not see the unit.
        NoChildUnits: ``children`` of a unit with nothing below it.
    """
    _check(unit, scope)
    params: dict[str, Any] = {}
    if children:
        level = child_level(unit.level)
        if level is None:
            raise NoChildUnits(
                f"{unit.key} has no child units: ask a city, district, street or village"
            )
        where = f"{alias}.level = '{level}'"
        if unit.level != "city":
            where += (
                f" AND {alias}.code IN (SELECT code FROM units WHERE level = '{level}' "
                "AND parent_code = %(unit_code)s)"
            )
            params["unit_code"] = unit.code
    elif unit.level == "city":
        where = f"{alias}.level = 'district'"
    else:
        where = f"{alias}.level = '{unit.level}' AND {alias}.code = %(unit_code)s"
        params["unit_code"] = unit.code
    clause, scope_params = scope_clause(scope, alias)
    return f"{where} AND {clause}", {**params, **scope_params}


def _check(unit: Unit, scope: Scope) -> None:
    if scope.department is not None and (unit.level, unit.code) != ("department", scope.department):
        raise ScopeRefused(
            f"scope department {scope.department} sees only department:{scope.department}, "
            f"not {unit.key}"
        )
    if scope.place is not None and unit.level == "city":
        raise ScopeRefused(f"scope {scope.place.key} does not cover the whole city")
