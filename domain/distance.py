"""How far apart two points on the ground are, for the on-site check of a verification."""

from __future__ import annotations

import math

__all__ = ["EARTH_RADIUS_M", "metres_between"]

EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG): a grid's few hundred metres err by < 0.5%


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The great-circle distance in metres between two (latitude, longitude) points, in
    degrees (the haversine formula: exact enough, and stable at a few metres)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
