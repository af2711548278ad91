"""The units table's rows: every place, department and worker in force on the latest effective
date of the reference data, each with its chain of places."""

from __future__ import annotations

from datetime import date

from domain.reference_view import ReferenceView
from projections.units import UnitRow, build_units, unit_rows
from tests.unit import test_reference_view as rv


def _view(*extra: object) -> ReferenceView:
    return ReferenceView().apply_all([*rv.world_events(), *extra])  # type: ignore[list-item]


def _by_key(rows: list[UnitRow]) -> dict[tuple[str, str], UnitRow]:
    return {(r.level, r.code): r for r in rows}


def test_every_unit_in_force_on_the_latest_date_with_its_chain() -> None:
    rows = unit_rows(_view())
    assert rows == sorted(rows, key=lambda r: (r.level, r.code))
    units = _by_key(rows)
    assert set(units) == {
        ("district", rv.DISTRICT),
        ("street", rv.STREET),
        ("village", rv.VILLAGE),
        ("village", rv.VILLAGE_2),
        ("grid", rv.GRID),
        ("grid", rv.GRID_2),
        ("grid", rv.GRID_NEW),
        ("department", rv.LAW),
        ("department", rv.MARKET),
        ("worker", rv.WORKER),
        ("worker", rv.WORKER_2),
    }
    assert units[("district", rv.DISTRICT)] == UnitRow(
        "district", rv.DISTRICT, "地点211", "330200", rv.DISTRICT, None, None, None
    )
    assert units[("street", rv.STREET)][3:] == ("330211", rv.DISTRICT, rv.STREET, None, None)
    # re-gridded on rv.REGRID, the latest effective date: rv.GRID_2 is in rv.VILLAGE_2 from then on
    assert units[("grid", rv.GRID_2)][3:] == (
        rv.VILLAGE_2,
        rv.DISTRICT,
        rv.STREET,
        rv.VILLAGE_2,
        rv.GRID_2,
    )
    assert units[("department", rv.LAW)] == UnitRow(
        "department", rv.LAW, "综合执法", None, None, None, None, None
    )
    assert units[("worker", rv.WORKER)] == UnitRow(
        "worker", rv.WORKER, rv.WORKER, rv.GRID, rv.DISTRICT, rv.STREET, rv.VILLAGE, rv.GRID
    )
    assert units[("worker", rv.WORKER_2)][3:] == (
        rv.GRID_2,
        rv.DISTRICT,
        rv.STREET,
        rv.VILLAGE_2,
        rv.GRID_2,
    )


def test_retired_places_and_ended_assignments_are_not_units() -> None:
    later = date(2025, 9, 1)
    view = _view(
        rv.ev("PlaceRetired", code=rv.GRID_NEW, effective_from=later),
        # WORKER's assignment ends before the latest date
        rv.ev(
            "WorkerAssigned",
            worker_id=rv.WORKER,
            role="grid_worker",
            grid_id=rv.GRID,
            effective_from=rv.REGRID,
            effective_to=date(2025, 8, 31),
        ),
    )
    assert view.latest_effective_date() == later
    units = _by_key(unit_rows(view))
    assert ("grid", rv.GRID_NEW) not in units
    assert ("worker", rv.WORKER) not in units
    assert ("worker", rv.WORKER_2) in units


def test_a_department_renamed_shows_its_latest_name() -> None:
    view = _view(rv.ev("DepartmentDefined", code=rv.LAW, name="城管执法", effective_from=rv.REGRID))
    assert _by_key(unit_rows(view))[("department", rv.LAW)].name == "城管执法"


def test_no_reference_data_no_units() -> None:
    assert unit_rows(ReferenceView()) == []
    assert build_units(ReferenceView()) == (0, [], ())  # no rows, no shapes


def test_units_carry_the_sequence_they_were_built_from() -> None:
    view = _view()
    built = build_units(view)
    assert built.reference_sequence == view.sequence == len(rv.world_events())


def test_a_places_boundary_is_kept_as_lon_lat_pairs() -> None:
    ring = [{"lat": 29.9, "lon": 121.5}, {"lat": 29.9, "lon": 121.6}, {"lat": 30.0, "lon": 121.6}]
    view = _view(rv.ev("PlaceDefined", code="g-9", level="grid", name="九", parent_code=rv.VILLAGE,
                    effective_from=rv.REGRID, boundary=ring))  # fmt: skip
    place = view.place("g-9", rv.REGRID)
    assert place is not None and place.boundary == ((121.5, 29.9), (121.6, 29.9), (121.6, 30.0))
    assert view.place(rv.GRID, rv.REGRID) is not None
    assert view.place(rv.GRID, rv.REGRID).boundary is None  # type: ignore[union-attr]
