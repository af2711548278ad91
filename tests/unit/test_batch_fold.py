"""Folding batches of canonical records: duplicates are no-ops, the way the log is cut into
batches does not change the result, ``until`` reads the city as known then, a corrupt stream
becomes a dead letter without stopping the batch, and each partition's position moves on.

Also: the fold modules stay pure (no Kafka, no PostgreSQL, no HTTP, no clock), checked over
everything of ours they import.
"""

from __future__ import annotations

import ast
import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.batch import Changes, Decoded, Position, ProjectionState, fold_batch
from projections.rows import CaseLocationRow, VisitRow, VisitTrackRow
from tests.unit.test_case_fold import (
    DISTRICT,
    GRID,
    GRID_2,
    MARKET,
    MON,
    STREET,
    TUE,
    VILLAGE,
    VILLAGE_2,
    WORKER,
    WORKER_2,
    WORLD,
    Case,
    Datum,
    busy_case,
    closed_case,
    sh,
)
from tests.unit.test_stats_fold import visit

CASES, VISITS = "fq.case.events", "fq.visit.events"
FIRST_OFFSET = 100  # positions start wherever the checkpoint was


def _stream() -> dict[str, Case]:
    """Five cases with every kind of step, across March and the July re-gridding."""
    a = closed_case("case-a")
    b = busy_case("case-b")
    c = Case("case-c")
    c.do("CaseReported", sh(*MON, 9, 15), location={"lat": 29.9421, "lon": 121.5934})
    c.do("CaseRejected", sh(*MON, 9, 40))
    d = Case("case-d")
    d.do(
        "CaseReported",
        sh(*MON, 10, 0),
        title="楼道堆放杂物",
        description="楼道门口堆放大量杂物，存在消防隐患。",
    )
    d.do("CaseAccepted", sh(*MON, 10, 30))
    d.do("CaseDispatched", sh(*MON, 11, 0))
    d.signal(sh(*TUE, 10, 0))  # warned
    d.signal(sh(*TUE, 12, 0))  # breached
    d.do("CaseClaimed", sh(*TUE, 14, 0))
    e = Case("case-e")
    e.do("CaseReported", sh(2025, 6, 30, 9, 0), grid_id=GRID_2, actor=(WORKER_2, "grid_worker"))
    e.do("CaseAccepted", sh(2025, 7, 1, 9, 0))
    e.do("CaseDispatched", sh(2025, 7, 1, 10, 0))
    return {case.case_id: case for case in (a, b, c, d, e)}


CASE_LOG = _stream()
PARTITION = {"case-a": 0, "case-b": 1, "case-c": 0, "case-d": 1, "case-e": 0}
VISIT_DATUMS = [
    (0, visit(sh(*MON, 8, 45), sequence=1)),
    (0, visit(sh(*TUE, 16, 0), sequence=2, households=7, findings=())),
    (1, visit(sh(2025, 6, 30, 11, 0), grid=GRID_2, worker=WORKER_2, sequence=1)),
    (1, visit(sh(2025, 7, 1, 11, 0), grid=GRID_2, worker=WORKER_2, sequence=2)),
]


def _records() -> list[Decoded]:
    """The log as a consumer hands it over: each partition in offset order (its cases merged
    by event time, each case in its own order), the partitions interleaved."""
    streams: dict[tuple[str, int], list[list[tuple[str, str, Datum]]]] = defaultdict(list)
    for case_id, case in CASE_LOG.items():
        streams[(CASES, PARTITION[case_id])].append([("case", t, d) for t, d in case.records()])
    for p, d in VISIT_DATUMS:
        streams[(VISITS, p)].append([("visit", "VisitRecorded", d)])
    partitions = [
        [
            Decoded(stream, topic, p, FIRST_OFFSET + n, event_type, d)
            for n, (stream, event_type, d) in enumerate(
                heapq.merge(*parts, key=lambda r: r[2]["envelope"]["event_time"])
            )
        ]
        for (topic, p), parts in sorted(streams.items())
    ]
    return list(heapq.merge(*partitions, key=lambda r: r.offset))


RECORDS = _records()


def fresh() -> ProjectionState:
    return ProjectionState(ref=WORLD)


def fold_in(
    batches: Iterable[list[Decoded]], state: ProjectionState | None = None
) -> tuple[ProjectionState, list[Changes]]:
    state = state or fresh()
    return state, [fold_batch(state, batch) for batch in batches]


def summed(changes: list[Changes]) -> dict[str, object]:
    """What the batches wrote, merged as the store would apply them one after the other."""
    stats: Counter[tuple[str, str, date, str]] = Counter()
    words: Counter[tuple[str, str, str, str]] = Counter()
    cases, deadlines, positions = {}, {}, {}
    timeline, resolutions, locations, visits, tracks, dead = [], [], [], [], [], []
    for c in changes:
        stats.update(c.stats)
        words.update(c.hot_words)
        cases.update(c.cases)
        deadlines.update(c.deadlines)
        positions.update({tp: replace(p) for tp, p in c.positions.items()})
        timeline += c.timeline
        # as the store writes them: a case resolved again replaces its stored resolution
        resolutions = [r for r in resolutions if r.case_id not in c.superseded] + c.resolutions
        locations += c.case_locations
        visits += c.visits
        tracks += c.visit_tracks
        dead += c.dead_letters
    for tp, pos in positions.items():  # a partition's max event time is over every batch
        times = [c.positions[tp].max_event_time for c in changes if tp in c.positions]
        pos.max_event_time = max((t for t in times if t is not None), default=None)
    return {
        "stats": stats,
        "hot_words": words,
        "cases": cases,
        "deadlines": deadlines,
        "positions": positions,
        "timeline": timeline,
        "resolutions": resolutions,
        "case_locations": locations,
        "visits": visits,
        "visit_tracks": tracks,
        "dead_letters": dead,
        "applied": sum(c.applied for c in changes),
        "duplicates": sum(c.duplicates for c in changes),
    }


WHOLE_STATE, (WHOLE,) = fold_in([RECORDS])


# --- one batch -------------------------------------------------------------------------------
def test_the_log_is_realistic_and_folds_cleanly() -> None:
    assert len(RECORDS) == 59
    assert {r.event_type for r in RECORDS} >= {
        "CaseReported",
        "CaseTransferred",
        "CaseSuspended",
        "DeadlineWarned",
        "DeadlineBreached",
        "CaseRejected",
        "CaseEvaluated",
        "VisitRecorded",
    }
    assert WHOLE.dead_letters == [] and WHOLE.duplicates == 0
    assert WHOLE.applied == len(RECORDS)
    assert len(WHOLE.timeline) == len(RECORDS) - len(VISIT_DATUMS)
    assert {c: row.status for c, row in WHOLE.cases.items()} == {
        "case-a": "closed",
        "case-b": "in_progress",
        "case-c": "rejected",
        "case-d": "in_progress",
        "case-e": "dispatched",
    }
    assert WHOLE_STATE.cases == WHOLE.cases


def test_the_batch_holds_each_deadlines_last_version() -> None:
    assert set(WHOLE.deadlines) == {
        d.deadline_id for ds in WHOLE_STATE.deadlines.values() for d in ds
    }
    for ds in WHOLE_STATE.deadlines.values():
        for d in ds:
            assert WHOLE.deadlines[d.deadline_id] == d
    breached = [d for d in WHOLE.deadlines.values() if d.case_id == "case-d" and d.stage == "claim"]
    assert [d.status for d in breached] == ["breached"]


def test_the_stats_of_a_batch_are_the_sum_of_its_events() -> None:
    by_metric: Counter[str] = Counter()
    for (level, code, _, metric), n in WHOLE.stats.items():
        if (level, code) == ("street", STREET):
            by_metric[metric] += n
    assert by_metric["reported"] == 5 and by_metric["discovered"] == 5
    assert by_metric["rejected"] == 1 and by_metric["accepted"] == 4
    assert by_metric["dispatched"] == 4 and by_metric["resolved"] == 2  # b: reworked, once
    assert by_metric["hand_offs"] == 1 and by_metric["reworks"] == 2  # b: failed, reopened
    assert by_metric["breaches"] == 1 and by_metric["closed"] == 2
    assert by_metric["extensions"] == by_metric["escalations"] == 1
    assert by_metric["evaluations"] == 2 and by_metric["satisfaction_sum"] == 4 + 5
    assert by_metric["visits"] == 4 and by_metric["households"] == 12 + 7 + 12 + 12
    assert WHOLE.stats[("department", MARKET, date(*MON), "dispatched")] == 1
    assert WHOLE.stats[("village", VILLAGE, date(2025, 7, 1), "dispatched")] == 1  # case-e
    assert WHOLE.stats[("village", VILLAGE_2, date(2025, 7, 1), "visits")] == 1


def test_resolutions_carry_the_facts_behind_the_percentiles() -> None:
    rows = [(r.case_id, r.sequence, r.day, r.department_code, r.on_time) for r in WHOLE.resolutions]
    a, b = CASE_LOG["case-a"], CASE_LOG["case-b"]
    seq = {
        c.case_id: [e.envelope.sequence for e in c.log if e.event_type == "CaseResolved"]
        for c in (a, b)
    }
    assert sorted(rows) == sorted(
        [
            ("case-a", seq["case-a"][0], date(*TUE), "dept.law-enforcement", True),
            ("case-b", seq["case-b"][1], date(*TUE), MARKET, True),  # its final resolution
        ]
    )
    first = next(r for r in WHOLE.resolutions if r.case_id == "case-a")
    assert (first.handling_hours, first.grid_id, first.village_code) == (7.5, GRID, VILLAGE)
    assert (first.street_code, first.district_code) == (STREET, DISTRICT)


def test_visits_become_rows_with_the_parents_of_their_time() -> None:
    rows = {(v.grid_id, v.sequence): v for v in WHOLE.visits}
    assert len(rows) == 4
    first = rows[(GRID, 1)]
    assert isinstance(first, VisitRow)
    assert (first.worker_id, first.village_code, first.street_code, first.district_code) == (
        WORKER,
        VILLAGE,
        STREET,
        DISTRICT,
    )
    assert (first.day, first.households, first.items_checked, first.findings) == (
        date(*MON),
        12,
        1,
        1,
    )
    assert first.track_points == 2
    assert rows[(GRID_2, 1)].village_code == VILLAGE
    assert rows[(GRID_2, 2)].village_code == VILLAGE_2
    assert WHOLE.visit_sequences == {GRID: 2, GRID_2: 2}


def test_each_reported_case_keeps_where_it_is_once() -> None:
    # case-c was reported with its location, the others without one
    case = WHOLE.cases["case-c"]
    assert case.street_code is not None and case.village_code is not None
    # with when and in which places it was reported: the case's, at its report
    assert WHOLE.case_locations == [
        CaseLocationRow(
            "case-c",
            121.5934,
            29.9421,
            sh(*MON, 9, 15),
            case.district_code,
            case.street_code,
            case.village_code,
            case.grid_id,
        )
    ]
    _, (_, again) = fold_in([RECORDS, RECORDS])
    assert again.case_locations == []


def test_each_visit_keeps_its_track_items_and_the_cases_it_reported() -> None:
    tracks = {t.visit_id: t for t in WHOLE.visit_tracks}
    assert set(tracks) == {v.visit_id for v in WHOLE.visits}
    first = next(v for v in WHOLE.visits if (v.grid_id, v.sequence) == (GRID, 1))
    track = tracks[first.visit_id]
    assert isinstance(track, VisitTrackRow)
    assert (track.worker_id, track.day, track.grid_id) == (WORKER, date(*MON), GRID)
    started = first.started_at.isoformat()
    assert track.points == [[121.59, 29.94, started], [121.6, 29.95, first.ended_at.isoformat()]]
    assert track.items_checked == ["city_appearance"]
    assert track.finding_case_ids == ["case-2025-000123"]
    quiet = next(v for v in WHOLE.visits if (v.grid_id, v.sequence) == (GRID, 2))
    assert tracks[quiet.visit_id].finding_case_ids == []


def test_hot_words_count_each_report_once_per_word_by_quarter_district_and_lexicon() -> None:
    q1 = {word: n for (q, dist, lex, word), n in WHOLE.hot_words.items() if q == "2025-Q1"}
    # case-a, -b, -c share the standard text, case-d has its own; 占道经营 is a lexicon word
    assert q1["占道经营"] == q1["小区"] == q1["摊贩"] == 3 and q1["门口"] == 4
    assert q1["杂物"] == q1["消防"] == 1 and "经营" not in q1
    assert {(q, dist, lex) for q, dist, lex, _ in WHOLE.hot_words} == {
        ("2025-Q1", DISTRICT, "2025Q1"),
        ("2025-Q2", DISTRICT, "2025Q1"),  # case-e: 30 June
    }


# --- duplicates ------------------------------------------------------------------------------
def test_a_redelivered_log_is_all_duplicates_and_changes_nothing() -> None:
    state, (first, again) = fold_in([RECORDS, RECORDS])
    assert (again.applied, again.duplicates) == (0, len(RECORDS))
    assert again.stats == Counter() and again.hot_words == Counter()
    assert again.cases == {} and again.deadlines == {} and again.timeline == []
    assert again.resolutions == [] and again.visits == [] and again.dead_letters == []
    assert again.visit_tracks == []
    assert state.cases == first.cases
    assert again.positions == first.positions  # the offsets are still confirmed


def test_the_same_record_twice_in_one_batch_counts_once() -> None:
    report = RECORDS[0]
    assert report.event_type == "CaseReported"
    _, (changes,) = fold_in([[report, report]])
    _, (once,) = fold_in([[report]])
    assert (changes.applied, changes.duplicates) == (1, 1)
    assert changes.stats == once.stats and changes.hot_words == once.hot_words
    assert len(changes.timeline) == 1


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_crash_replay_from_an_earlier_offset_double_counts_nothing(data: st.DataObject) -> None:
    done = data.draw(st.integers(0, len(RECORDS)), label="folded before the crash")
    again = data.draw(st.integers(0, done), label="redelivered from")
    _, changes = fold_in([RECORDS[:done], RECORDS[again:]])
    total = summed(changes)
    assert total["duplicates"] == done - again
    assert total["stats"] == WHOLE.stats
    assert total["hot_words"] == WHOLE.hot_words
    assert total["cases"] == WHOLE.cases


# --- batching does not matter ----------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, len(RECORDS)), max_size=12))
def test_any_split_into_batches_gives_the_same_projection(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(RECORDS)]
    batches = [RECORDS[a:b] for a, b in pairwise(bounds)]
    state, changes = fold_in(batches)
    total = summed(changes)
    whole = summed([WHOLE])
    assert total == whole
    assert state.cases == WHOLE_STATE.cases
    assert state.deadlines == WHOLE_STATE.deadlines
    assert state.visit_sequences == WHOLE_STATE.visit_sequences


def test_the_order_of_partitions_within_a_batch_does_not_matter() -> None:
    by_partition = sorted(RECORDS, key=lambda r: (r.topic, -r.partition, r.offset))
    _, (changes,) = fold_in([by_partition])
    assert changes.stats == WHOLE.stats and changes.hot_words == WHOLE.hot_words
    assert changes.cases == WHOLE.cases and changes.positions == WHOLE.positions


# --- until: the city as known then -----------------------------------------------------------
def test_until_skips_what_was_recorded_after_it_but_moves_the_offsets_on() -> None:
    until = sh(2025, 3, 4, 23, 59)  # all but case-e and the visits of June and July
    then = fold_batch(fresh(), RECORDS, until=until)
    known = [r for r in RECORDS if r.datum["envelope"]["recorded_time"] <= until]
    assert len(known) == len(RECORDS) - len(CASE_LOG["case-e"].log) - 2
    assert then.applied == len(known) and then.dead_letters == [] and then.duplicates == 0
    assert then.cases == {c: row for c, row in WHOLE.cases.items() if c != "case-e"}
    assert len(then.visits) == 2
    assert max(day for (_, _, day, _) in then.stats) == date(*TUE)
    assert {tp: p.next_offset for tp, p in then.positions.items()} == {
        tp: p.next_offset for tp, p in WHOLE.positions.items()
    }
    latest: dict[tuple[str, int], datetime] = {}
    for r in known:
        tp, t = (r.topic, r.partition), r.datum["envelope"]["event_time"]
        latest[tp] = max(latest.get(tp, t), t)
    assert {tp: p.max_event_time for tp, p in then.positions.items()} == {
        tp: latest.get(tp) for tp in then.positions
    }
    assert then.positions[(VISITS, 1)].max_event_time is None  # only June and July there


def test_until_skips_a_late_post_of_an_earlier_event() -> None:
    case = Case("case-late")
    case.do("CaseReported", sh(*MON, 9, 0))
    case.do("CaseAccepted", sh(*MON, 9, 30))
    # the dispatch was posted two weeks late
    case.do("CaseDispatched", sh(*MON, 10, 0), recorded=sh(2025, 3, 20, 9, 0))
    records = [Decoded("case", CASES, 0, n, t, d) for n, (t, d) in enumerate(case.records())]
    changes = fold_batch(fresh(), records, until=sh(2025, 3, 10, 0, 0))
    assert changes.cases["case-late"].status == "accepted"
    assert changes.applied == 2
    assert changes.positions[(CASES, 0)].next_offset == len(records)
    assert ("department", "dept.law-enforcement", date(*MON), "dispatched") not in changes.stats


# --- dead letters ----------------------------------------------------------------------------
def test_a_corrupt_stream_becomes_dead_letters_and_the_batch_goes_on() -> None:
    gone = next(
        r for r in RECORDS if r.datum.get("case_id") == "case-a" and r.event_type == "CaseAccepted"
    )
    records = [r for r in RECORDS if r is not gone]
    state, (changes,) = fold_in([records])
    rest_of_a = [r for r in records if r.datum.get("case_id") == "case-a"][1:]
    assert [(d.topic, d.partition, d.offset) for d in changes.dead_letters] == [
        (r.topic, r.partition, r.offset) for r in rest_of_a
    ]
    assert all("case-a" in d.reason for d in changes.dead_letters)
    assert "gap" in changes.dead_letters[0].reason
    assert changes.applied == len(records) - len(rest_of_a)
    assert state.cases["case-a"].status == "reported"
    for other in ("case-b", "case-c", "case-d", "case-e"):
        assert changes.cases[other] == WHOLE.cases[other]
    assert {tp: p.next_offset for tp, p in changes.positions.items()} == {
        tp: p.next_offset for tp, p in WHOLE.positions.items()
    }


def test_a_stream_without_its_report_is_dead_lettered() -> None:
    records = [r for r in RECORDS if r.datum.get("case_id") == "case-c"]
    changes = fold_batch(fresh(), records[1:])
    assert len(changes.dead_letters) == 1 and changes.applied == 0
    assert "expected 1" in changes.dead_letters[0].reason
    assert changes.positions[(records[1].topic, records[1].partition)].next_offset == (
        records[1].offset + 1
    )


# --- positions -------------------------------------------------------------------------------
def test_each_partition_moves_to_its_last_offset_plus_one_with_its_latest_event_time() -> None:
    expected = {}
    for r in RECORDS:
        tp = (r.topic, r.partition)
        t = r.datum["envelope"]["event_time"]
        old = expected.get(tp)
        expected[tp] = Position(r.offset + 1, t if old is None else max(old.max_event_time, t))
    assert WHOLE.positions == expected
    assert set(expected) == {(CASES, 0), (CASES, 1), (VISITS, 0), (VISITS, 1)}


def test_the_latest_event_time_is_the_maximum_not_the_last() -> None:
    late, early = RECORDS[-1], RECORDS[0]
    assert late.datum["envelope"]["event_time"] > early.datum["envelope"]["event_time"]
    records = [
        late._replace(topic="t", partition=0, offset=7),
        early._replace(topic="t", partition=0, offset=8),
    ]
    changes = fold_batch(fresh(), records)
    assert changes.positions[("t", 0)].next_offset == 9
    assert changes.positions[("t", 0)].max_event_time == late.datum["envelope"]["event_time"]
    assert changes.positions[("t", 0)].caught_up is False


def test_an_empty_batch_changes_nothing() -> None:
    changes = fold_batch(fresh(), [])
    assert changes == Changes()


# --- purity ----------------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
FOLDS = (
    "domain.case_fold",
    "domain.stats_moves",
    "projections.batch",
    "projections.hotwords",
    "projections.now_fold",
    "projections.periods",
    "projections.handling_hist",
)
OURS = {"events", "domain", "processors", "projections", "schemas", "infra", "simulate", "bench"}
FORBIDDEN = {
    "confluent_kafka",
    "faust",
    "psycopg",
    "psycopg2",
    "psycopg_pool",
    "httpx",
    "fastapi",
    "requests",
    "aiokafka",
    "socket",
    "subprocess",
}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def _path_of(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, functions included; ``from a import b``
    names ``a.b`` too, in case ``b`` is a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _closure(start: Iterable[str]) -> dict[str, Path]:
    """Every module of ours that ``start`` imports, directly or not, with its parents."""
    seen: dict[str, Path] = {}
    todo = list(start)
    while todo:
        module = todo.pop()
        parts = module.split(".")
        for n in range(1, len(parts) + 1):
            name = ".".join(parts[:n])
            path = _path_of(name)
            if name in seen or path is None or parts[0] not in OURS:
                continue
            seen[name] = path
            todo += [m for _, m in _imports(path)]
    return seen


def _forbidden(modules: dict[str, Path]) -> list[tuple[str, int, str]]:
    """(module, line, what it imports) for every import of an I/O library."""
    return [
        (name, line, imported)
        for name, path in sorted(modules.items())
        for line, imported in _imports(path)
        if imported.split(".")[0] in FORBIDDEN
    ]


def test_the_folds_and_everything_of_ours_they_import_touch_no_io_library() -> None:
    modules = _closure(FOLDS)
    assert set(FOLDS) <= set(modules)
    assert "domain.calendar" in modules and "events.models.case" in modules
    assert _forbidden(modules) == []


def test_the_folds_read_no_clock_and_no_environment() -> None:
    found = []
    for module in FOLDS:
        path = _path_of(module)
        assert path is not None
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in CLOCK_CALLS
            ):
                found.append(f"{module} line {node.lineno}: .{node.func.attr}()")
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
                found.append(f"{module} line {node.lineno}: reads the environment")
    assert found == []


def test_the_purity_check_sees_an_io_library_behind_our_own_imports() -> None:
    modules = _closure(["projections.projector"])  # the loop at the edge: Kafka and PostgreSQL
    assert {"confluent_kafka", "psycopg"} <= {m.split(".")[0] for _, _, m in _forbidden(modules)}


def test_moves_of_zero_leave_no_row_and_others_add_up_per_unit_and_day() -> None:
    changes = Changes()
    day, grid, worker = date(2025, 3, 3), ("grid", "g-1"), ("worker", "w-1")
    changes.count(day, [((grid, worker), "discovered", 0)])
    changes.count(day, [])
    assert changes.stats_rows == {}  # nothing to write for a claim, or a report not from a visit
    changes.count(day, [((grid, worker), "visits", 1), ((grid,), "households", 4)])
    changes.count(day, [((grid,), "visits", 1)])
    assert changes.stats == Counter(
        {
            ("grid", "g-1", day, "visits"): 2,
            ("grid", "g-1", day, "households"): 4,
            ("worker", "w-1", day, "visits"): 1,
        }
    )
