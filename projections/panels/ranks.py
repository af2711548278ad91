"""Which units a ranking compares and how (排名), as rules over names: the levels that can be
ranked within a unit, the counter that is each KPI's sample size, and the order that is
better. Pure: no SQL."""

from __future__ import annotations

from projections.panels.kpis import Kpi
from projections.panels.scope import PLACE_LEVELS, Level, Unit, child_level

__all__ = [
    "DEFAULT_MIN_SAMPLE",
    "RANK_LEVELS",
    "LevelError",
    "check_level",
    "default_level",
    "levels_within",
    "parent_level",
    "sample_counter",
]

RANK_LEVELS: tuple[Level, ...] = ("district", "street", "village", "grid", "department", "worker")
DEFAULT_MIN_SAMPLE = 20
# A count's n is what it is out of, where that is a counter (hand-offs of so many dispatches,
# …), else the count itself; only a rate or a mean is held back from the ranks by a small n.
_COUNT_BASE = {
    "hand_offs": "dispatched",
    "rejected": "reported",
    "breaches": "dispatched",
    "escalations": "accepted",
}


class LevelError(ValueError):
    """A level that cannot be ranked within the unit; ``allowed`` lists those that can."""

    def __init__(self, message: str, allowed: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allowed = allowed


# Grids and workers are ranked within a street or below: a district's thousands, or the
# city's 12,216 grids and 52,472 workers, are ranked by their streets and districts instead
# (ranking every one of them on each request cost 0.1–0.4 s, and no one reads such a list).
_MEMBERS_FROM = ("street", "village", "grid")


def levels_within(unit: Unit) -> tuple[Level, ...]:
    """The levels rankable within ``unit``: every place level below it (grids from a street
    down) and, from a street down, its workers; the city's departments too. A department or
    a worker has nothing below it to rank."""
    if not unit.is_place:
        return ()
    below = PLACE_LEVELS[PLACE_LEVELS.index(unit.level) + 1 :]
    members = unit.level in _MEMBERS_FROM
    places = tuple(lvl for lvl in below if members or lvl != "grid")
    extra: tuple[Level, ...] = ("department",) if unit.level == "city" else ()
    workers: tuple[Level, ...] = ("worker",) if members else ()
    return (*places, *extra, *workers)


def default_level(unit: Unit) -> Level | None:
    """The level a ranking shows when none is asked for: the units one level down (a grid's
    workers)."""
    if unit.level == "grid":
        return "worker"
    return child_level(unit.level)


def check_level(unit: Unit, level: str) -> Level:
    """``level`` when it can be ranked within ``unit``.

    Raises:
        LevelError: it cannot (the message and ``allowed`` say which can).
    """
    allowed = levels_within(unit)
    for candidate in allowed:
        if candidate == level:
            return candidate
    if not allowed:
        raise LevelError(f"nothing is ranked within {unit.key}: choose a place", allowed)
    raise LevelError(
        f"level {level!r} cannot be ranked within {unit.key}; choose one of {', '.join(allowed)}",
        allowed,
    )


def sample_counter(k: Kpi) -> str:
    """The counter that is ``k``'s sample size (n): a rate's denominator, a count's base."""
    return k.denominator or _COUNT_BASE.get(k.name, k.numerator)


def parent_level(level: Level) -> Level | None:
    """The level of a ranked unit's ``parent_code``: a worker's grid, a grid's village, …"""
    if level == "worker":
        return "grid"
    if level in PLACE_LEVELS[2:]:
        return PLACE_LEVELS[PLACE_LEVELS.index(level) - 1]
    return None
