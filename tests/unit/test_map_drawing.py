"""Drawing the map from grid rings (``projections.unit_shapes.draw``): over the whole
simulated city every village, street and district is one polygon without holes, equal to
its own boundary, although neighbours' edges meet at T-junctions."""

from __future__ import annotations

import random

import pytest
from shapely import Polygon
from shapely.geometry import shape

from events.models import PlaceDefined, PlaceLevel
from projections.unit_shapes import GridRow, draw
from simulate.city import CityShape, build_city


@pytest.fixture(scope="module")
def city() -> dict[str, PlaceDefined]:
    _, places = build_city(CityShape.ningbo(), random.Random(1))
    return {p.code: p for p in places}


def _rows(places: dict[str, PlaceDefined]) -> list[GridRow]:
    rows: list[GridRow] = []
    for p in places.values():
        if p.level is PlaceLevel.grid and p.boundary is not None:
            village = places[p.parent_code or ""]
            street = places[village.parent_code or ""]
            ring = [[q.lon, q.lat] for q in p.boundary]
            rows.append((p.code, village.code, street.code, street.parent_code, ring))
    return rows


def test_every_union_is_one_polygon_equal_to_its_place(city: dict[str, PlaceDefined]) -> None:
    drawn = draw(_rows(city))
    levels = {"grid": 0, "village": 0, "street": 0, "district": 0}
    for (level, code), geometry in drawn.geometry.items():
        levels[level] += 1
        assert geometry["type"] == "Polygon", (level, code)
        polygon = shape(geometry)
        assert len(geometry["coordinates"]) == 1, (level, code)  # no holes
        assert polygon.exterior.is_ccw
        boundary = city[code].boundary or ()
        expected = Polygon([(q.lon, q.lat) for q in boundary])
        assert polygon.symmetric_difference(expected).area < 1e-9, (level, code)
        assert drawn.boxes[level, code] == pytest.approx(expected.bounds, abs=1e-8)
    assert levels == {"grid": 12_216, "village": 936, "street": 156, "district": 10}
    assert drawn.city == pytest.approx((121.0, 29.15, 122.0, 30.38), abs=1e-9)


def test_a_clockwise_ring_is_drawn_counter_clockwise_and_closed() -> None:
    clockwise = [[121.0, 29.0], [121.0, 29.1], [121.1, 29.1], [121.1, 29.0]]
    drawn = draw([("g1", "v1", "s1", "d1", clockwise)])
    [ring] = drawn.geometry["grid", "g1"]["coordinates"]
    assert ring == [*clockwise[::-1], clockwise[-1]]
    assert shape(drawn.geometry["district", "d1"]).equals(Polygon(clockwise))


def test_units_apart_are_drawn_as_a_multipolygon() -> None:
    square = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    away = [[x + 5, y] for x, y in square]
    drawn = draw([("g1", "v1", "s1", "d1", square), ("g2", "v1", "s1", "d1", away)])
    assert drawn.geometry["village", "v1"]["type"] == "MultiPolygon"
    assert shape(drawn.geometry["village", "v1"]).area == pytest.approx(2.0)
    assert drawn.city == (0.0, 0.0, 6.0, 1.0)


def test_nothing_to_draw() -> None:
    drawn = draw([])
    assert (drawn.geometry, drawn.boxes, drawn.city) == ({}, {}, None)
