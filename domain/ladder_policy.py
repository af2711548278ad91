"""What an SLA policy says about the supervision ladder of one stage's deadline (预警 → 催办 →
督办 → 通报), past the warning that ``SlaLimit.warn_before_hours`` already sets.

Kept apart from ``sla`` so that the deadline arithmetic and the ladder can change without
touching each other; ``SlaLimit.ladder`` carries one of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["NO_LADDER", "Ladder", "ladder_of"]


@dataclass(frozen=True)
class Ladder:
    """The ladder of a deadline that runs over, in working hours after its due time.

    ``urge_every_hours``: 催办 every that many hours while overdue (0: never), at most
    ``max_urges`` times per due time (0: no limit);
    ``street_after_hours`` / ``district_after_hours``: 督办 by the street, the district (0:
    never); ``supervision_hours``: the supervision deadline from the step into supervision;
    ``monthly_notice``: listed in the 通报 of each month's close while overdue.
    """

    urge_every_hours: float = 0.0
    max_urges: int = 0
    street_after_hours: float = 0.0
    district_after_hours: float = 0.0
    supervision_hours: float = 0.0
    monthly_notice: bool = False

    def __post_init__(self) -> None:
        hours = (
            self.urge_every_hours,
            self.street_after_hours,
            self.district_after_hours,
            self.supervision_hours,
        )
        if min(hours) < 0 or self.max_urges < 0:
            raise ValueError(f"a ladder's hours cannot be negative, got {self}")
        supervised = self.street_after_hours or self.district_after_hours
        if supervised and self.supervision_hours <= 0:
            raise ValueError(f"supervision needs supervision_hours > 0, got {self}")

    def supervision_after(self, level: str) -> float:
        """Working hours after the due time at which ``level`` supervises (0: never)."""
        return self.street_after_hours if level == "street" else self.district_after_hours


NO_LADDER = Ladder()
"""A policy version from before the ladder (SlaPolicyDefined v1): a warning and a breach only."""


def ladder_of(limit: Any) -> Ladder:
    """The ladder of an ``SlaLimit`` model (SlaPolicyDefined v2; v1's decode with defaults)."""
    return Ladder(
        urge_every_hours=limit.urge_every_hours,
        max_urges=limit.max_urges,
        street_after_hours=limit.street_supervision_after_hours,
        district_after_hours=limit.district_supervision_after_hours,
        supervision_hours=limit.supervision_hours,
        monthly_notice=limit.monthly_notice,
    )
