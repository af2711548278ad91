"""Where the simulated places lie: a plausible, deterministic map of the city.

Every place is a convex quadrilateral (``Quad``: south-west, south-east, north-east,
north-west corners as ``(lon, lat)``, WGS-84, counter-clockwise). The ten districts sit in a
fixed layout around Ningbo's centre, roughly where they are on the real map (Cixi and Yuyao to
the north-west, Zhenhai and Beilun on the coast, Ninghai and Xiangshan to the south). A parent
is tiled by its children in rows: each row is the strip between two chords from the parent's
left edge to its right, each child the part of its strip between two chords from the strip's
bottom to its top. Chords end at jittered fractions (drawn from the parent's code, never the
seed), so the map looks hand-drawn yet the children of a parent cover it exactly, without
overlaps, and are convex again.

Points inside a place come from ``point_in``: the bilinear map of the unit square onto the
quadrilateral, which keeps every ``(u, v)`` of the square inside it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

__all__ = ["CITY", "DISTRICT_ROWS", "Point", "Quad", "district_quads", "point_in", "tile"]

Point = tuple[float, float]  # (lon, lat)
Quad = tuple[Point, Point, Point, Point]  # SW, SE, NE, NW

# The city's outline around Ningbo's centre (29.87 N, 121.55 E), slightly skewed.
CITY: Quad = ((121.00, 29.15), (122.00, 29.20), (121.95, 30.38), (121.10, 30.30))

# The districts in rows from south to north, west to east, with their relative sizes.
DISTRICT_ROWS: tuple[tuple[tuple[str, float], ...], ...] = (
    (("ninghai", 1.8), ("xiangshan", 1.4)),
    (("fenghua", 1.3), ("yinzhou", 1.2), ("beilun", 1.0)),
    (("yuyao", 1.5), ("haishu", 0.7), ("jiangbei", 0.6), ("zhenhai", 0.7)),
    (("cixi", 1.0),),
)
_ROW_WEIGHTS = (1.2, 1.0, 1.0, 0.8)
_JITTER = 0.3  # a chord's end moves by up to this share of its part's size


def _lerp(a: Point, b: Point, t: float) -> Point:
    # (1 - t) a + t b gives a exactly at 0 and b exactly at 1: children share their parent's
    # corners bit for bit.
    s = 1.0 - t
    return (s * a[0] + t * b[0], s * a[1] + t * b[1])


def point_in(quad: Quad, u: float, v: float) -> Point:
    """The point ``(lon, lat)`` at ``(u, v)`` of the unit square mapped onto ``quad``;
    for ``u, v`` in [0, 1] it lies in the (convex) quadrilateral."""
    return _lerp(_lerp(quad[0], quad[1], u), _lerp(quad[3], quad[2], u), v)


def _cuts(weights: Sequence[float], rng: random.Random) -> list[float]:
    """Fractions 0 = f0 < f1 < ... < fn = 1 splitting [0, 1] by jittered ``weights``."""
    jittered = [w * (1.0 + rng.uniform(-_JITTER, _JITTER)) for w in weights]
    total, run, cuts = sum(jittered), 0.0, [0.0]
    for w in jittered[:-1]:
        run += w
        cuts.append(run / total)
    cuts.append(1.0)
    return cuts


def _span_km(a: Point, b: Point) -> float:
    kx = 111.32 * math.cos(math.radians((a[1] + b[1]) / 2))
    return math.hypot((b[0] - a[0]) * kx, (b[1] - a[1]) * 110.57)


def _rows_of(quad: Quad, n: int) -> int:
    """How many rows make ``n`` children of ``quad`` about as tall as they are wide."""
    width = (_span_km(quad[0], quad[1]) + _span_km(quad[3], quad[2])) / 2
    height = (_span_km(quad[0], quad[3]) + _span_km(quad[1], quad[2])) / 2
    return max(1, min(n, round(math.sqrt(n * height / width))))


def _spread(items: Sequence[tuple[str, float]], rows: int) -> list[Sequence[tuple[str, float]]]:
    base, extra = divmod(len(items), rows)
    out, at = [], 0
    for r in range(rows):
        size = base + (1 if r < extra else 0)
        out.append(items[at : at + size])
        at += size
    return out


def _lay_out(
    quad: Quad,
    rows: Sequence[Sequence[tuple[str, float]]],
    row_weights: Sequence[float],
    rng: random.Random,
) -> dict[str, Quad]:
    left, right = _cuts(row_weights, rng), _cuts(row_weights, rng)
    out: dict[str, Quad] = {}
    for r, row in enumerate(rows):
        bottom = (_lerp(quad[0], quad[3], left[r]), _lerp(quad[1], quad[2], right[r]))
        top = (_lerp(quad[0], quad[3], left[r + 1]), _lerp(quad[1], quad[2], right[r + 1]))
        weights = [w for _, w in row]
        low, high = _cuts(weights, rng), _cuts(weights, rng)
        for i, (code, _) in enumerate(row):
            out[code] = (
                _lerp(*bottom, low[i]),
                _lerp(*bottom, low[i + 1]),
                _lerp(*top, high[i + 1]),
                _lerp(*top, high[i]),
            )
    return out


def tile(parent: str, quad: Quad, children: Sequence[tuple[str, float]]) -> dict[str, Quad]:
    """``children`` (code, relative size), in order, tiling ``quad``: rows from south to
    north, west to east in a row. The jitter is drawn from ``parent``'s code, so the same
    parent and children always give the same quadrilaterals."""
    if len(children) == 1:
        return {children[0][0]: quad}
    rows = _spread(children, _rows_of(quad, len(children)))
    row_weights = [sum(w for _, w in row) for row in rows]
    return _lay_out(quad, rows, row_weights, random.Random(f"geo:{parent}"))


def district_quads() -> dict[str, Quad]:
    """Every district's quadrilateral, in the fixed layout of ``DISTRICT_ROWS``."""
    return _lay_out(CITY, DISTRICT_ROWS, _ROW_WEIGHTS, random.Random("geo:nb"))
