"""The projector's rollups on a simulated Zhuangshi projection: each equals what it rolls up,
recomputed from the facts in SQL (``unit_now`` from the cases and their deadlines,
``stats_period`` from ``stats_daily``, ``handling_hist`` from ``resolutions``), and the
queries that read them answer as the facts do, the median and p90 within the histogram's
stated precision."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bench.canonical_log import canonical_events
from domain.case_state import CaseState, evolve
from domain.decisions import Accepted
from domain.reference_view import ReferenceView
from domain.state_machine import decide, due_signals, signal_submission
from domain.stats_moves import METRICS
from events.models import Event
from projections import queries
from projections.handling_hist import RESOLUTION_UNITS, WIDTHS, bucket_of
from projections.now_fold import NOW_COLUMNS
from projections.rollups import PLACE_VISIT_LEVELS, ROLLUPS
from projections.store import create_schema
from simulate.city import CityShape
from tests.integration.projection_helpers import ProjectionWorld

START = date(2025, 6, 2)
JUNE = (date(2025, 6, 1), date(2025, 7, 1))
Q2 = (date(2025, 4, 1), date(2025, 7, 1))
DAYS = (date(2025, 6, 2), date(2025, 6, 30))  # every June day with events, not a whole month
# each visit row three times: for its day, its month and its quarter
_VISIT_PERIODS = (
    "(VALUES (to_char(day, 'YYYY-MM-DD')), (to_char(day, 'YYYY-MM')), "
    "(to_char(day, 'YYYY-\"Q\"Q'))) p(period)"
)
# a grid's counts of a period, as grid_visits keeps them
_GRID_COUNTS = (
    "count(*) AS visits, sum(households) AS households, count(DISTINCT day) FILTER "
    "(WHERE extract(isodow FROM day) <= 5) AS days, count(DISTINCT worker_id) AS workers, "
    "max(ended_at) AS last_visit"
)


def _cut(
    events: Iterable[tuple[str, Event]], at: datetime, signalled: datetime
) -> Iterator[tuple[str, Event]]:
    """The log with each case's stream up to its first step from ``at`` on, and the deadline
    signals the trigger submits at ``signalled`` if nothing more happens (so many cases are
    still open, some of them overdue); every visit and reference event."""
    view = ReferenceView()
    states: dict[str, CaseState] = {}
    stopped: set[str] = set()
    for stream, event in events:
        if stream == "reference":
            view.extend([event])
        elif stream == "case":
            case_id = event.case_id  # type: ignore[attr-defined]
            if case_id in stopped or event.envelope.event_time >= at:
                stopped.add(case_id)
                continue
            states[case_id] = evolve(states.get(case_id), event)  # type: ignore[arg-type]
        yield stream, event
    for case_id, state in sorted(states.items()):
        for signal in due_signals(state, signalled, view):
            decision = decide(state, signal_submission(case_id, signal, signalled), view)
            assert isinstance(decision, Accepted), decision
            for event in decision.events:
                state = evolve(state, event)  # type: ignore[arg-type]
                yield "case", event


@pytest.fixture(scope="module")
def projected(connection_settings: Any) -> Iterator[tuple[ProjectionWorld, str]]:
    """Three days of Zhuangshi street, cut on the third day at noon (UTC 04:00) and signalled
    two days later, projected once into the projection's live schema."""
    world = ProjectionWorld(connection_settings, f"ru_rollups_{uuid.uuid4().hex[:8]}")
    try:
        at = datetime(2025, 6, 4, 4, 0, tzinfo=UTC)
        events = canonical_events(CityShape.zhuangshi(), 5, START, 3)
        world.write(_cut(events, at, at + timedelta(days=2)))
        schema = world.live_schema()
        world.project(schema)
        yield world, schema
    finally:
        world.cleanup()


def _rows(world: ProjectionWorld, schema: str, query: str) -> list[tuple[Any, ...]]:
    with world.conn() as c:
        c.execute(f'SET search_path TO "{schema}"')
        return c.execute(query).fetchall()


def _same_rows(table: str, rows: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> None:
    """``rows`` of ``table`` are ``expected``, in the same order; else the test fails naming
    the table and the rows that differ (the first ten of each side)."""
    if rows == expected:
        return
    extra, missing = list(rows), []
    for row in expected:
        if row in extra:
            extra.remove(row)
        else:
            missing.append(row)
    if not extra and not missing:
        pytest.fail(f"{table}: the expected rows, in another order")
    pytest.fail(
        f"{table}: {len(extra)} rows not expected, e.g. {extra[:10]}; "
        f"{len(missing)} expected rows missing, e.g. {missing[:10]}"
    )


def _recounted(
    projected: tuple[ProjectionWorld, str],
    table: str,
    recount: str,
    order: str = "1, 2, 3",
    where: str = "TRUE",
) -> list[tuple[Any, ...]]:
    """The rows of ``table`` (those ``where`` holds) in ``order``, asserted to be the rows
    ``recount`` computes from the facts, in the same order."""
    world, schema = projected
    query = f"SELECT * FROM {table} WHERE {where} ORDER BY {order}"
    kept = [tuple(r) for r in _rows(world, schema, query)]
    _same_rows(table, kept, [tuple(r) for r in _rows(world, schema, recount)])
    return kept


def test_unit_now_sums_are_the_cases_by_status(projected: tuple[ProjectionWorld, str]) -> None:
    world, schema = projected
    by_status = dict(_rows(world, schema, "SELECT status, count(*) FROM cases GROUP BY status"))
    columns = ", ".join(f"sum({c})::bigint" for c in NOW_COLUMNS)
    levels = {
        level: dict(zip(NOW_COLUMNS, sums, strict=True))
        for level, *sums in _rows(
            world, schema, f"SELECT level, {columns} FROM unit_now GROUP BY level"
        )
    }
    assert set(levels) == {"district", "street", "village", "grid", "department"}
    for level in ("district", "street", "village", "grid"):
        sums = levels[level]
        assert {s: sums[f"status_{s}"] for s in by_status} == by_status
        assert sum(sums[c] for c in NOW_COLUMNS if c.startswith("status_")) == sum(
            by_status.values()
        )
    assert by_status.get("closed", 0) > 0 and by_status.get("in_progress", 0) > 0


def test_unit_now_is_the_cases_and_deadlines_recounted(
    projected: tuple[ProjectionWorld, str],
) -> None:
    statuses = ", ".join(
        f"count(*) FILTER (WHERE status = '{c.removeprefix('status_')}')" for c in NOW_COLUMNS[2:]
    )
    overdue = (
        "EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = c.case_id AND d.breached_at IS NOT "
        "NULL AND d.done_at IS NULL AND NOT d.cancelled)"
    )
    recount = f"""
        WITH u AS (
            SELECT c.*, x.level, x.code, {overdue} AS late FROM cases c
            CROSS JOIN LATERAL (VALUES ('district', district_code), ('street', street_code),
                ('village', village_code), ('grid', grid_id),
                ('department', department_code)) x(level, code)
            WHERE x.code IS NOT NULL)
        SELECT level, code, count(*) FILTER (WHERE status NOT IN ('closed', 'rejected')),
            count(*) FILTER (WHERE status NOT IN ('closed', 'rejected') AND late), {statuses}
        FROM u GROUP BY 1, 2 ORDER BY 1, 2"""
    # units every case has left (a department after a transfer) keep a row of zeros
    nonzero = " OR ".join(f"{c} <> 0" for c in NOW_COLUMNS)
    kept = _recounted(projected, "unit_now", recount, "1, 2", nonzero)
    assert any(r[3] for r in kept)  # some cases are overdue now


def test_stats_period_is_the_days_summed_by_month_and_quarter(
    projected: tuple[ProjectionWorld, str],
) -> None:
    sums = ", ".join(f"sum({m})::bigint" for m in METRICS)
    stored = _recounted(
        projected,
        "stats_period",
        f"SELECT level, code, p, {sums} FROM stats_daily, LATERAL (VALUES "
        "(to_char(day, 'YYYY-MM')), (to_char(day, 'YYYY-\"Q\"Q'))) x(p) GROUP BY 1, 2, 3 "
        "ORDER BY 1, 2, 3",
    )
    assert {r[2] for r in stored} >= {"2025-06", "2025-Q2"}


def test_handling_hist_counts_each_resolution_in_its_bucket(
    projected: tuple[ProjectionWorld, str],
) -> None:
    world, schema = projected
    expected: Counter[tuple[str, str, str, int]] = Counter()
    columns = ", ".join(RESOLUTION_UNITS.values())
    for day, hours, *codes in _rows(
        world, schema, f"SELECT day, handling_hours, {columns} FROM resolutions"
    ):
        for level, code in zip(RESOLUTION_UNITS, codes, strict=True):
            for period in (f"{day.year}-{day.month:02d}", f"{day.year}-Q{(day.month + 2) // 3}"):
                if code is not None:
                    expected[(level, code, period, bucket_of(hours))] += 1
    stored = sorted(tuple(r) for r in _rows(world, schema, "TABLE handling_hist"))
    _same_rows("handling_hist", stored, sorted((*k, n) for k, n in expected.items()))
    assert stored


def test_grid_visits_are_the_visits_recounted_per_day_month_and_quarter(
    projected: tuple[ProjectionWorld, str],
) -> None:
    kept = _recounted(
        projected,
        "grid_visits",
        f"SELECT grid_id, p.period, {_GRID_COUNTS} "
        f"FROM visits CROSS JOIN LATERAL {_VISIT_PERIODS} GROUP BY 1, 2 ORDER BY 1, 2",
        "1, 2",
    )
    assert len(kept) > 3 * 189
    # several workers and several working days in one grid's month: the distinct counts count
    assert any(r[5] > 1 for r in kept) and any(r[4] > 1 for r in kept)
    # each counted once: the bookkeeping holds what was counted, no more
    [(days,)] = _rows(*projected, "SELECT count(*) FROM grid_visit_days")
    assert days == sum(r[4] for r in kept if len(r[1]) == 10)


@pytest.mark.parametrize("level", PLACE_VISIT_LEVELS)
def test_place_visits_are_the_visits_recounted_per_place_and_period(
    projected: tuple[ProjectionWorld, str], level: str
) -> None:
    # each grid's counts of grid_visits, summed where the grid lay when visited
    kept = _recounted(
        projected,
        "place_visits",
        f"WITH g AS (SELECT {level}_code AS code, grid_id, p.period, {_GRID_COUNTS} "
        f"FROM visits CROSS JOIN LATERAL {_VISIT_PERIODS} "
        f"WHERE {level}_code IS NOT NULL GROUP BY 1, 2, 3) "
        f"SELECT '{level}', code, period, count(*), sum(visits), sum(households), sum(days), "
        "sum(workers), max(last_visit) FROM g GROUP BY 2, 3 ORDER BY 2, 3",
        "2, 3",
        f"level = '{level}'",
    )
    assert kept
    # a place's grids and their working days and workers: more than one of each
    assert any(r[3] > 1 for r in kept) and any(r[6] > r[3] for r in kept)
    assert any(r[7] > r[3] for r in kept)


def test_unit_sizes_are_the_grids_and_workers_of_each_place(
    projected: tuple[ProjectionWorld, str],
) -> None:
    kept = _recounted(
        projected,
        "unit_sizes",
        "SELECT p.level, p.code, count(*) FILTER (WHERE u.level = 'grid'), "
        "count(*) FILTER (WHERE u.level = 'worker') FROM units u, "
        "(SELECT level, code FROM units WHERE level IN ('district', 'street', 'village')) p "
        "WHERE u.level IN ('grid', 'worker') AND CASE p.level "
        "WHEN 'district' THEN u.district_code WHEN 'street' THEN u.street_code "
        "ELSE u.village_code END = p.code GROUP BY 1, 2 ORDER BY 1, 2",
        "1, 2",
    )
    # Zhuangshi: one street, 14 villages, 189 grids, each grid with its workers
    assert ("street", 189) in {(r[0], r[2]) for r in kept}
    assert len([r for r in kept if r[0] == "village"]) == 14
    assert all(r[3] >= r[2] for r in kept)


def test_city_hot_words_are_the_districts_words_summed(
    projected: tuple[ProjectionWorld, str],
) -> None:
    kept = _recounted(
        projected,
        "city_hot_words",
        "SELECT quarter, word, lexicon_version, sum(count)::bigint FROM hot_words "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    assert len(kept) > 20


def test_a_case_location_is_where_and_when_its_case_was_reported(
    projected: tuple[ProjectionWorld, str],
) -> None:
    world, schema = projected
    differ = _rows(
        world,
        schema,
        "SELECT l.case_id FROM case_locations l LEFT JOIN cases c USING (case_id) WHERE "
        "(l.reported_at, l.district_code, l.street_code, l.village_code, l.grid_id) IS "
        "DISTINCT FROM (c.reported_at, c.district_code, c.street_code, c.village_code, c.grid_id)",
    )
    [(located,)] = _rows(world, schema, "SELECT count(*) FROM case_locations")
    assert differ == [] and located > 100


def _exact(world: ProjectionWorld, schema: str, column: str) -> dict[str, tuple[list[float]]]:
    rows = _rows(
        world,
        schema,
        f"SELECT {column}, array_agg(handling_hours ORDER BY handling_hours) FROM resolutions "
        f"WHERE day >= '2025-06-01' AND day < '2025-07-01' AND {column} IS NOT NULL GROUP BY 1",
    )
    return {code: values for code, values in rows}


def _within(estimate: float, values: list[float], q: float) -> bool:
    rank = q * (len(values) - 1)
    k = math.floor(rank)
    low, high = values[k], values[min(k + 1, len(values) - 1)]
    exact = low + (rank - k) * (high - low)
    return abs(estimate - exact) < max(WIDTHS[bucket_of(low)], WIDTHS[bucket_of(high)]) + 1e-9


@pytest.mark.parametrize("level", ["grid", "department"])
def test_statistics_of_a_whole_month_and_quarter_read_the_rollups_as_the_facts_are(
    projected: tuple[ProjectionWorld, str], level: str
) -> None:
    world, schema = projected
    p = world.settings.projection
    with world.conn() as c:
        month = queries.statistics(c, p, level, "month", *JUNE)  # type: ignore[arg-type]
        quarter = queries.statistics(c, p, level, "quarter", *Q2)  # type: ignore[arg-type]
        daily = queries.statistics(c, p, level, "month", *DAYS)  # type: ignore[arg-type]
    sums = ", ".join(f"sum({m})::bigint" for m in METRICS)
    facts = {
        code: dict(zip(METRICS, rest, strict=True))
        for code, *rest in _rows(
            world,
            schema,
            f"SELECT code, {sums} FROM stats_daily WHERE level = '{level}' "
            "AND day >= '2025-06-01' AND day < '2025-07-01' GROUP BY 1",
        )
    }
    assert {r["code"]: {m: r[m] for m in METRICS} for r in month.rows} == facts
    assert [{m: r[m] for m in METRICS} for r in quarter.rows] == [
        {m: r[m] for m in METRICS} for r in month.rows
    ]  # June is all of Q2 that happened
    assert daily.rows == month.rows  # the same, from the day rows and the resolutions
    exact = _exact(world, schema, RESOLUTION_UNITS[level])
    checked = 0
    for row in month.rows:
        values = exact.get(row["code"])
        if not values:
            assert row["median_handling_hours"] is None
            continue
        assert _within(row["median_handling_hours"], values, 0.5)
        assert _within(row["p90_handling_hours"], values, 0.9)
        checked += 1
    assert checked > 0


def test_ranking_and_assessment_of_a_whole_month_are_those_of_its_days(
    projected: tuple[ProjectionWorld, str],
) -> None:
    world, _ = projected
    p = world.settings.projection
    with world.conn() as c:
        for metric in ("discovery_rate", "on_time_rate", "hand_offs"):
            assert (
                queries.ranking(c, p, "grid", metric, *JUNE, min_count=2).rows
                == queries.ranking(c, p, "grid", metric, *DAYS, min_count=2).rows
            )
        month = queries.worker_assessment(c, p, *JUNE, min_visits=2)
        assert month.rows == queries.worker_assessment(c, p, *DAYS, min_visits=2).rows
    assert month.rows and month.rows[0]["rank"] == 1


def test_a_schema_made_before_the_rollups_gets_them_filled_from_its_facts(
    projected: tuple[ProjectionWorld, str],
) -> None:
    world, schema = projected
    old = world.new_schema("old")
    world.project(old)
    with world.conn() as c:
        for table in ROLLUPS:
            c.execute(f'DROP TABLE "{old}".{table}')
        # case_locations as it was before it recorded when and where a case was reported
        c.execute(
            f'ALTER TABLE "{old}".case_locations DROP COLUMN reported_at, '
            "DROP COLUMN district_code, DROP COLUMN street_code, DROP COLUMN village_code, "
            "DROP COLUMN grid_id"
        )
        c.commit()
        create_schema(c, old)  # as `fengqiao project` does when it starts on it
    query = "SELECT * FROM case_locations ORDER BY case_id"
    assert _rows(world, old, query) == _rows(world, schema, query)
    for table in ROLLUPS:
        query = f"SELECT * FROM {table} ORDER BY 1, 2, 3" + (
            ", 4" if table == "handling_hist" else ""
        )
        filled = [tuple(r) for r in _rows(world, old, query)]
        kept = [tuple(r) for r in _rows(world, schema, query)]
        if table == "unit_now":  # the projector also keeps rows of zeros
            kept = [r for r in kept if any(r[2:])]
        _same_rows(table, filled, kept)
        assert filled, table


@pytest.mark.parametrize("by", [None, "district", "department"])
def test_the_case_pipeline_read_from_unit_now_is_the_cases_counted(
    projected: tuple[ProjectionWorld, str], by: str | None
) -> None:
    world, schema = projected
    column = {None: "NULL", "district": "district_code", "department": "department_code"}[by]
    counted = _rows(
        world,
        schema,
        f"SELECT {column}, status, count(*) FROM cases GROUP BY 1, 2 ORDER BY 1 NULLS FIRST, 2",
    )
    with world.conn() as c:
        answer = queries.case_pipeline(c, world.settings.projection, by)  # type: ignore[arg-type]
    assert [(r["unit"], r["status"], r["cases"]) for r in answer.rows] == counted
    assert answer.complete_to is not None
    assert by != "department" or any(u is None for u, _, _ in counted)  # cases with none now
