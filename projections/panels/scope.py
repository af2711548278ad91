"""What a panel looks at (a unit of the jurisdiction, a department or a worker) and who is
looking (the viewer's scope). Pure: names and their rules, no SQL.

The jurisdiction tree is city → district → street → village/community → grid. A scope is a
subtree of it and/or one department; today every operator's scope is the whole city, but every
query already takes one, so restricting an operator is a change of settings, not of queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CITY",
    "FEW_CASES",
    "LEVELS",
    "PLACE_LEVELS",
    "WHOLE_CITY",
    "Scope",
    "Unit",
    "UnitError",
    "child_level",
    "parse_unit",
]

Level = Literal["city", "district", "street", "village", "grid", "department", "worker"]
LEVELS: tuple[Level, ...] = (
    "city",
    "district",
    "street",
    "village",
    "grid",
    "department",
    "worker",
)
PLACE_LEVELS: tuple[Level, ...] = ("city", "district", "street", "village", "grid")
LEVEL_ZH = {
    "city": "全市",
    "district": "区县(市)",
    "street": "乡镇(街道)",
    "village": "村(社区)",
    "grid": "网格",
    "department": "部门",
    "worker": "网格员",
}
# The column of the ``units`` table that holds a place's ancestor at each level.
CHAIN_COLUMN = {
    "district": "district_code",
    "street": "street_code",
    "village": "village_code",
    "grid": "grid_id",
}
# Places whose cases are few (a street's are a few hundred of the city's 100,000): a read of
# their facts starts from their cases and joins the facts by key.
FEW_CASES: tuple[Level, ...] = ("street", "village", "grid")
_CODE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class UnitError(ValueError):
    """A unit that cannot be read; says which form was expected."""


@dataclass(frozen=True)
class Unit:
    """A place of the tree, a department or a worker; ``Unit("city", "city")`` is the city."""

    level: Level
    code: str

    @property
    def key(self) -> str:
        """``city`` or ``street:330211001``: how a unit is written in a URL."""
        return "city" if self.level == "city" else f"{self.level}:{self.code}"

    @property
    def is_place(self) -> bool:
        return self.level in PLACE_LEVELS

    @property
    def chain_column(self) -> str | None:
        return CHAIN_COLUMN.get(self.level)


CITY = Unit("city", "city")


def child_level(level: Level) -> Level | None:
    """The level a drill-down goes to from ``level``: district under the city, … grid under a
    village; none under a grid (its cases are listed instead), a department or a worker."""
    if level not in PLACE_LEVELS or level == "grid":
        return None
    return PLACE_LEVELS[PLACE_LEVELS.index(level) + 1]


def parse_unit(text: str) -> Unit:
    """``city`` or ``<level>:<code>``, e.g. ``district:330206``, ``department:D-MINZHENG``.

    Raises:
        UnitError: an unknown level or a malformed code.
    """
    if text == "city":
        return CITY
    level, sep, code = text.partition(":")
    if not sep or level not in LEVELS or level == "city":
        raise UnitError(
            f"unit {text!r} is not 'city' or '<level>:<code>' with level one of "
            f"{', '.join(LEVELS[1:])}"
        )
    if not _CODE.match(code):
        raise UnitError(f"unit code {code!r} must be 1-64 letters, digits, '.', '_' or '-'")
    return Unit(level, code)


@dataclass(frozen=True)
class Scope:
    """What a viewer may see: a place subtree (``None``: the whole city) and/or one department
    (``None``: every department)."""

    place: Unit | None = None
    department: str | None = None

    def __post_init__(self) -> None:
        if self.place is not None and self.place.level not in PLACE_LEVELS[1:]:
            raise UnitError("a scope's place must be a district, street, village or grid")

    @property
    def whole_city(self) -> bool:
        return self.place is None and self.department is None


WHOLE_CITY = Scope()
