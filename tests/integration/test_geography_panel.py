"""The map of a projected street: the units table and the shapes and boxes the dashboard draws,
from Zhuangshi's simulated reference data on the real stack."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import shapely
from shapely.geometry import shape

from bench.canonical_log import canonical_events
from domain.reference_rules import decide_reference
from domain.reference_view import ReferenceView
from events.models import Event, PlaceDefined
from projections.errors import ProjectionError, UnknownProjection
from projections.panels import geography
from simulate.city import CityShape
from tests.integration.projection_helpers import ProjectionWorld

START = date(2025, 6, 2)
STREET = "zhenhai-s001"


@pytest.fixture
def world(connection_settings: Any, unique_name: Any) -> Iterator[ProjectionWorld]:
    w = ProjectionWorld(connection_settings, unique_name("geo"))
    yield w
    w.cleanup()


def _decided(view: ReferenceView, submission: Event) -> Event:
    [event] = decide_reference(view, submission).events  # type: ignore[union-attr]
    view.extend([event])
    return event


def _zhuangshi(world: ProjectionWorld) -> tuple[list[PlaceDefined], ReferenceView]:
    """A simulated day of Zhuangshi on the world's topics, and one more grid drawn nowhere
    (defined without a boundary, as a PlaceDefined v1 would be)."""
    events = list(canonical_events(CityShape.zhuangshi(), 5, START, 1, visits_per_worker=0.1))
    view = ReferenceView()
    view.extend(e for s, e in events if s == "reference")
    places = [e for s, e in events if isinstance(e, PlaceDefined)]
    undrawn = places[-1].model_copy(
        update={"code": f"{places[-1].parent_code}-g99", "name": "第99网格", "boundary": None}
    )
    unset = undrawn.envelope.model_copy(update={"sequence": None, "event_id": "undrawn-grid"})
    extra = _decided(view, undrawn.model_copy(update={"envelope": unset}))
    world.write([*events, ("reference", extra)])
    return places, view


def _area(geometry: dict[str, Any]) -> float:
    return float(shape(geometry).area)


def test_units_and_shapes_of_a_street(world: ProjectionWorld) -> None:
    places, view = _zhuangshi(world)
    live = world.live_schema()
    world.project(live)
    p = world.settings.projection
    polygon = {e.code: shapely.Polygon([(q.lon, q.lat) for q in e.boundary or ()]) for e in places}

    with world.conn() as c:
        c.execute(f'SET search_path TO "{live}"')
        levels = Counter(level for (level,) in c.execute("SELECT level FROM units").fetchall())
        grid_rows = c.execute(
            "SELECT code, parent_code, district_code, street_code, village_code, grid_id "
            "FROM units WHERE level = 'grid'"
        ).fetchall()
        (version,) = c.execute("SELECT reference_sequence FROM units_version").fetchone()  # type: ignore[misc]
        grids = geography.shapes(c, p, "grid")
        villages = geography.shapes(c, p, "village")
        streets = geography.shapes(c, p, "street")
        districts = geography.shapes(c, p, "district")
        one_village = geography.shapes(c, p, "grid", within=("village", f"{STREET}-v03"))
        city_box = geography.bounds(c, p)
        grid_box = geography.bounds(c, p, within=("grid", f"{STREET}-v03-g01"))

    workers = len({w for w in view.worker_ids() if view.worker_grid(w, START)})
    assert levels == {
        "district": 1,
        "street": 1,
        "village": 14,
        "grid": 190,
        "department": 22,
        "worker": workers,
    }
    assert version == view.sequence  # the undrawn grid's definition came last
    for code, parent, district, street, village, grid in grid_rows:
        assert (district, street, village, grid) == ("zhenhai", STREET, parent, code)
        assert code.startswith(f"{village}-g")

    assert len(grids.rows) == 189 and grids.missing == 1  # the grid defined with no boundary
    assert grids.complete_to is not None and grids.schema == live
    for row in grids.rows:
        assert row["geometry"]["type"] == "Polygon"
        assert len(row["geometry"]["coordinates"][0]) == 5  # four corners, closed
        assert shape(row["geometry"]).equals(polygon[row["code"]])

    assert len(villages.rows) == 14 and villages.missing == 0
    for row in villages.rows:
        assert row["geometry"]["type"] == "Polygon" and row["parent_code"] == STREET
        assert abs(_area(row["geometry"]) - polygon[row["code"]].area) < 1e-9

    [street] = streets.rows
    assert (street["code"], street["name"], street["geometry"]["type"]) == (
        STREET,
        "庄市街道",
        "Polygon",
    )
    assert shape(street["geometry"]).symmetric_difference(polygon[STREET]).area < 1e-9
    assert [r["code"] for r in districts.rows] == ["zhenhai"]

    codes = [r["code"] for r in one_village.rows]
    assert codes == sorted(codes) and all(c.startswith(f"{STREET}-v03-g") for c in codes)
    assert len(codes) in (13, 14)

    (min_lon, min_lat, max_lon, max_lat) = polygon[STREET].bounds
    [box] = city_box.rows
    [low, high] = box["bounds"]
    assert [*low, *high] == pytest.approx([min_lon, min_lat, max_lon, max_lat], abs=1e-9)
    g = polygon[f"{STREET}-v03-g01"].bounds
    assert grid_box.rows == [{"bounds": [[g[0], g[1]], [g[2], g[3]]]}]


def test_a_new_boundary_is_drawn_after_the_projector_rebuilds_the_units(
    world: ProjectionWorld,
) -> None:
    places, view = _zhuangshi(world)
    live = world.live_schema()
    world.project(live)
    p = world.settings.projection
    grid = next(e for e in places if e.code == f"{STREET}-v01-g01")
    with world.conn() as c:
        before = geography.shapes(c, p, "grid", within=("grid", grid.code))
        again = geography.shapes(c, p, "grid", within=("grid", grid.code))
    assert before.rows == again.rows and before.rows[0]["geometry"]["type"] == "Polygon"

    # Re-gridding: the grid keeps three of its corners from 1 July on.
    triangle = grid.model_copy(
        update={
            "boundary": grid.boundary[:3],  # type: ignore[index]
            "effective_from": date(2025, 7, 1),
            "envelope": grid.envelope.model_copy(update={"sequence": None, "event_id": "regrid"}),
        }
    )
    world.write([("reference", _decided(view, triangle))])
    world.project(live)  # a projector started again reads the reference log from its start
    with world.conn() as c:
        after = geography.shapes(c, p, "grid", within=("grid", grid.code))
        village = geography.shapes(c, p, "village", within=("village", grid.parent_code))  # type: ignore[arg-type]
    assert len(after.rows[0]["geometry"]["coordinates"][0]) == 4  # three corners, closed
    assert 0 < _area(after.rows[0]["geometry"]) < _area(before.rows[0]["geometry"])
    # the village is drawn from its grids as they are now: one corner cut off
    assert village.rows[0]["geometry"]["type"] == "Polygon"


def test_bad_levels_and_an_unknown_projection_are_refused(world: ProjectionWorld) -> None:
    with world.conn() as c:
        with pytest.raises(ProjectionError, match="unknown map level 'worker'"):
            geography.shapes(c, "any", "worker")  # type: ignore[arg-type]
        with pytest.raises(ProjectionError, match="no street lies within a grid"):
            geography.shapes(c, "any", "street", within=("grid", "g-1"))
        with pytest.raises(ProjectionError, match="unknown level 'city'"):
            geography.bounds(c, "any", within=("city", "nb"))  # type: ignore[arg-type]
        with pytest.raises(UnknownProjection):
            geography.shapes(c, f"{world.name}_none", "grid")


def test_a_projection_without_units_yet_draws_nothing(world: ProjectionWorld) -> None:
    live = world.live_schema()
    p = world.settings.projection
    with world.conn() as c:
        answer = geography.shapes(c, p, "grid")
        box = geography.bounds(c, p)
    assert (answer.rows, answer.missing, answer.schema) == ([], 0, live)
    assert box.rows == []
