"""Handling time (working hours) in fixed buckets, for a median and a p90 read from counts
(``handling_hist``) instead of sorting every resolution of a period.

Buckets: 0.25 h wide from 0 to 8 h, 1 h to 80 h, 10 h to 800 h, 100 h to 8,000 h, and one
bucket for everything from 8,000 h on. A percentile is read as ``percentile_cont`` reads it
from the sorted values (the value at rank q·(n−1), interpolated between the two ranks around
it), each value estimated inside its bucket as if the bucket's values were spread evenly over
it. Each estimate is inside the bucket that holds the real value, so the answer is within one
bucket width of the exact percentile: under 0.25 h when the values around it are below 8 h,
under 1 h below 80 h, 10 h below 800 h, 100 h below 8,000 h (the last bucket answers 8,000).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping

__all__ = ["BUCKET_SQL", "EDGES", "RESOLUTION_UNITS", "WIDTHS", "bucket_of", "percentile"]

RESOLUTION_UNITS = {
    "district": "district_code",
    "street": "street_code",
    "village": "village_code",
    "grid": "grid_id",
    "department": "department_code",
}
"""The units a resolution counts for, and the column of ``resolutions`` naming each."""


def _edges() -> tuple[float, ...]:
    edges = [i * 0.25 for i in range(32)]  # 0 .. 7.75
    edges += [8.0 + i for i in range(72)]  # 8 .. 79
    edges += [80.0 + 10 * i for i in range(72)]  # 80 .. 790
    edges += [800.0 + 100 * i for i in range(73)]  # 800 .. 8000
    return tuple(edges)


EDGES = _edges()
"""Each bucket's lower edge; bucket i holds EDGES[i] <= hours < EDGES[i + 1]."""
WIDTHS = (*(hi - lo for lo, hi in itertools.pairwise(EDGES)), 0.0)
"""Each bucket's width; the last (8,000 h and more) is read as its lower edge."""


BUCKET_SQL = "greatest(width_bucket({}, %(edges)s::float8[]) - 1, 0)"
"""``bucket_of`` in SQL, of the column named in the braces, with ``edges`` = ``list(EDGES)``."""


def bucket_of(hours: float) -> int:
    """The bucket of a handling time (negative times, which the fold never makes, go to 0).
    PostgreSQL's ``width_bucket(hours, EDGES) - 1`` gives the same bucket."""
    return max(0, bisect.bisect_right(EDGES, hours) - 1)


def percentile(counts: Mapping[int, int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of the values counted per bucket; None when there are none.
    The queries read it in SQL the same way (``projections.queries``)."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = q * (total - 1)
    k = math.floor(rank)
    low = _value_at(counts, k)
    high = _value_at(counts, min(k + 1, total - 1))
    return low + (rank - k) * (high - low)


def _value_at(counts: Mapping[int, int], rank: int) -> float:
    below = 0
    for bucket in sorted(counts):
        n = counts[bucket]
        if rank < below + n:
            return EDGES[bucket] + WIDTHS[bucket] * (rank - below + 0.5) / n
        below += n
    raise ValueError(f"rank {rank} is beyond the {below} values counted")
