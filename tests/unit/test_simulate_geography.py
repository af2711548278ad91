"""The simulated map: every place a convex quadrilateral, children tiling their parent without
gaps or overlaps, the same map whatever the seed, and visits and cases inside their grid."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date
from functools import cache

import pytest
from shapely import Point, Polygon, unary_union

from events.models import CaseReported, PlaceDefined, PlaceLevel, VisitRecorded
from simulate.activity import simulate_day
from simulate.city import CityShape, reference_events
from simulate.geography import CITY, Quad, district_quads, point_in, tile


@cache
def _places(shape: str, seed: int = 1) -> tuple[PlaceDefined, ...]:
    _, events = reference_events(CityShape.named(shape), seed)
    return tuple(e for e in events if isinstance(e, PlaceDefined))


def _polygon(place: PlaceDefined) -> Polygon:
    assert place.boundary is not None
    return Polygon([(p.lon, p.lat) for p in place.boundary])


def test_the_map_comes_from_the_place_codes_not_the_seed() -> None:
    def rings(seed: int) -> dict[str, object]:
        return {p.code: p.boundary for p in _places("zhuangshi", seed)}

    assert rings(1) == rings(2)
    assert rings(1) == rings(1)


@pytest.mark.parametrize("shape", ["zhuangshi", "ningbo"])
def test_every_place_below_the_city_has_a_small_convex_ring(shape: str) -> None:
    city = Polygon(CITY)
    for place in _places(shape):
        if place.level is PlaceLevel.city:
            assert place.boundary is None
            continue
        polygon = _polygon(place)
        assert place.boundary is not None and 4 <= len(place.boundary) <= 12
        assert polygon.is_valid and polygon.area > 0
        assert polygon.convex_hull.area == pytest.approx(polygon.area, rel=1e-12)
        assert polygon.exterior.is_ccw  # GeoJSON's outer-ring orientation
        assert city.buffer(1e-9).contains(polygon)


@pytest.mark.parametrize("shape", ["zhuangshi", "ningbo"])
def test_children_tile_their_parent_without_gaps_or_overlaps(shape: str) -> None:
    places = _places(shape)
    polygons = {p.code: _polygon(p) for p in places if p.boundary is not None}
    children: dict[str, list[str]] = defaultdict(list)
    for p in places:
        if p.parent_code in polygons:
            children[p.parent_code].append(p.code)
    assert children
    for parent, codes in children.items():
        parts = [polygons[c] for c in codes]
        union = unary_union(parts)
        # the parts' areas add up to their union's: no overlaps; and to the parent's: no gaps
        assert abs(sum(p.area for p in parts) - union.area) < 1e-9, parent
        assert abs(union.area - polygons[parent].area) < 1e-9, parent
        assert union.symmetric_difference(polygons[parent]).area < 1e-9, parent


def test_a_streets_grids_cover_the_street() -> None:
    places = _places("ningbo")
    polygons = {p.code: _polygon(p) for p in places if p.boundary is not None}
    grids_of: dict[str, list[Polygon]] = defaultdict(list)
    for p in places:
        if p.level is PlaceLevel.grid:
            grids_of[p.code.rsplit("-", 2)[0]].append(polygons[p.code])
    assert len(grids_of) == 156
    for street, grids in grids_of.items():
        assert abs(sum(g.area for g in grids) - polygons[street].area) < 1e-9
        assert abs(unary_union(grids).area - polygons[street].area) < 1e-9


def test_districts_do_not_overlap_and_fill_the_city() -> None:
    quads = [Polygon(q) for q in district_quads().values()]
    assert len(quads) == 10
    assert abs(sum(q.area for q in quads) - Polygon(CITY).area) < 1e-12


def test_one_child_is_its_parent_and_the_layout_is_the_parents() -> None:
    quad: Quad = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
    assert tile("p", quad, [("a", 1.0)]) == {"a": quad}
    assert tile("p", quad, [("a", 1.0), ("b", 2.0)]) == tile("p", quad, [("a", 1.0), ("b", 2.0)])
    assert tile("p", quad, [("a", 1.0), ("b", 2.0)]) != tile("q", quad, [("a", 1.0), ("b", 2.0)])


def test_point_in_maps_the_unit_square_onto_the_quadrilateral() -> None:
    quad: Quad = ((121.0, 29.0), (121.2, 29.05), (121.15, 29.3), (120.95, 29.2))
    polygon = Polygon(quad)
    assert [point_in(quad, u, v) for u, v in ((0, 0), (1, 0), (1, 1), (0, 1))] == list(quad)
    rng = random.Random(3)
    for _ in range(1000):
        assert polygon.covers(Point(point_in(quad, rng.random(), rng.random())))


def test_visit_tracks_and_case_locations_lie_in_their_grid() -> None:
    city, events = reference_events(CityShape.zhuangshi(), seed=5)
    polygons = {p.code: _polygon(p) for p in events if isinstance(p, PlaceDefined) and p.boundary}
    day = simulate_day(city, date(2026, 3, 2), random.Random(9))
    visits = [e for e in day.events if isinstance(e, VisitRecorded)]
    reports = [e for e in day.events if isinstance(e, CaseReported)]
    assert len(visits) > 500 and len(reports) > 20
    for v in visits:
        grid = polygons[v.grid_id]
        assert all(grid.contains(Point(p.lon, p.lat)) for p in v.track)
    for r in reports:
        assert r.location is not None
        assert polygons[r.grid_id].contains(Point(r.location.lon, r.location.lat))
