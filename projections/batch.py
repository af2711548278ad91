"""Folding a batch of canonical records into the changes one PostgreSQL transaction writes.

``ProjectionState`` holds what the folds need between batches: the reference view, the cases
seen so far with their deadlines, and each grid's last visit sequence. ``fold_batch`` applies
decoded records to it and collects a ``Changes``: the rows to upsert or append, the counters
to add (one wide row per unit and day, as ``stats_daily`` stores them, and one per unit for
the cases it holds now, as ``unit_now`` does), and each partition's new position. The month
and quarter rollups are summed from the day rows and the resolutions as the batch is written
(``store``). Pure: the projector loads the cases a batch needs
before calling it, and writes the ``Changes`` after, with the positions, in one transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from domain.calendar import local_date
from domain.case_fold import CaseRow, CaseStep, TimelineRow, fold_case
from domain.deadline_rows import DeadlineRow
from domain.errors import CorruptStream
from domain.funnel_moves import funnel_moves
from domain.reference_view import ReferenceView
from domain.stats_moves import (
    METRICS,
    Move,
    Unit,
    case_moves,
    cohort_moves,
    dated_moves,
    quarter_of,
    visit_counts,
)
from projections.hotwords import words_of
from projections.now_fold import NOW_COLUMNS, is_overdue, now_moves, standing
from projections.rejection_fold import RejectionRow, rejection_row
from projections.rows import CaseLocationRow, NoticeRow, ResolutionRow, VisitRow, VisitTrackRow

__all__ = [
    "Changes",
    "DeadLetter",
    "Decoded",
    "Position",
    "ProjectionState",
    "fold_batch",
]

_KEY_COLUMNS = 3  # a stats row starts with its level, code and day, then the METRICS
_COLUMN = {m: _KEY_COLUMNS + i for i, m in enumerate(METRICS)}
_ZEROS = (0,) * len(METRICS)
_NOW_COLUMN = {c: 2 + i for i, c in enumerate(NOW_COLUMNS)}  # after the level and code
_NOW_ZEROS = (0,) * len(NOW_COLUMNS)


class Decoded(NamedTuple):
    """One canonical record, decoded: where it was, and its event type and Avro datum."""

    stream: str  # case | visit | rejection
    topic: str
    partition: int
    offset: int
    event_type: str
    datum: Mapping[str, Any]
    raw: bytes = b""  # the record as read, for its dead letter


@dataclass(frozen=True)
class DeadLetter:
    """A record the projection could not apply: kept with its reason, never silently lost."""

    topic: str
    partition: int
    offset: int
    reason: str
    raw: bytes


@dataclass
class Position:
    """A partition's next offset and the latest event time read from it."""

    next_offset: int
    max_event_time: datetime | None = None
    caught_up: bool = False

    def saw(self, event_time: datetime | None) -> None:
        """Keep the latest event time read."""
        if event_time is not None and (
            self.max_event_time is None or event_time > self.max_event_time
        ):
            self.max_event_time = event_time


@dataclass
class ProjectionState:
    """What the folds remember between batches."""

    ref: ReferenceView = field(default_factory=ReferenceView)
    cases: dict[str, CaseRow] = field(default_factory=dict)
    deadlines: dict[str, tuple[DeadlineRow, ...]] = field(default_factory=dict)
    visit_sequences: dict[str, int] = field(default_factory=dict)  # grid -> last sequence


@dataclass
class Changes:
    """Everything one batch writes."""

    cases: dict[str, CaseRow] = field(default_factory=dict)
    deadlines: dict[str, DeadlineRow] = field(default_factory=dict)
    timeline: list[TimelineRow] = field(default_factory=list)
    resolutions: list[ResolutionRow] = field(default_factory=list)
    superseded: set[str] = field(default_factory=set)  # cases whose stored resolution goes
    case_locations: list[CaseLocationRow] = field(default_factory=list)
    notices: list[NoticeRow] = field(default_factory=list)
    visits: list[VisitRow] = field(default_factory=list)
    visit_tracks: list[VisitTrackRow] = field(default_factory=list)
    visit_sequences: dict[str, int] = field(default_factory=dict)
    # day -> (level, code) -> [level, code, day, amounts in METRICS order]: one row of
    # ``stats_daily`` each, in its column order
    stats_rows: dict[date, dict[Unit, list[Any]]] = field(default_factory=dict)
    # (level, code) -> [level, code, amounts in now_fold.NOW_COLUMNS order]: ``unit_now``'s
    # rows, the moves of the batch's case events summed (a row for every unit moved, even
    # when its moves cancel out, so the rows written do not depend on how the log is cut)
    now_rows: dict[Unit, list[Any]] = field(default_factory=dict)
    hot_words: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    rejections: dict[str, RejectionRow] = field(default_factory=dict)  # event id -> first row
    dead_letters: list[DeadLetter] = field(default_factory=list)
    positions: dict[tuple[str, int], Position] = field(default_factory=dict)
    applied: int = 0
    duplicates: int = 0

    @property
    def stats(self) -> Counter[tuple[str, str, date, str]]:
        """The counters moved, one per (level, code, day, metric), without the zeros."""
        return Counter(
            {
                (level, code, day, metric): amount
                for day, units in self.stats_rows.items()
                for (level, code), row in units.items()
                for metric, amount in zip(METRICS, row[_KEY_COLUMNS:], strict=True)
                if amount
            }
        )

    def count(self, day: date, moves: Iterable[Move]) -> None:
        """Add each move's amount to its units' rows of ``day`` (a few rows per event)."""
        rows = self.stats_rows.get(day)
        for units, metric, amount in moves:
            if not amount:
                continue
            if rows is None:  # only for a day something moved on: no empty rows to write
                rows = self.stats_rows[day] = {}
            i = _COLUMN[metric]
            for unit in units:  # keyed by the unit tuples as they are: no key built per row
                row = rows.get(unit)
                if row is None:
                    row = rows[unit] = [*unit, day, *_ZEROS]
                row[i] += amount

    def shift(self, moves: Iterable[Move]) -> None:
        """Add each move's amount to its units' ``unit_now`` rows."""
        rows = self.now_rows
        for units, column, amount in moves:
            if not amount:
                continue
            i = _NOW_COLUMN[column]
            for unit in units:
                row = rows.get(unit)
                if row is None:
                    row = rows[unit] = [*unit, *_NOW_ZEROS]
                row[i] += amount

    def advance(self, topic: str, partition: int, offset: int, event_time: datetime | None) -> None:
        """Record that ``offset`` of the partition is done."""
        pos = self.positions.get((topic, partition))
        if pos is None:  # not setdefault, which built a Position per record to throw away
            pos = self.positions[(topic, partition)] = Position(offset + 1)
        elif offset >= pos.next_offset:
            pos.next_offset = offset + 1
        pos.caught_up = False
        pos.saw(event_time)


def fold_batch(
    state: ProjectionState,
    records: Iterable[Decoded],
    changes: Changes | None = None,
    until: datetime | None = None,
) -> Changes:
    """Apply ``records`` (each partition's in offset order) to ``state``.

    ``until``: skip events recorded after that instant (the city as known then); their
    offsets still advance. A record that breaks its stream becomes a dead letter.
    """
    changes = changes or Changes()
    for rec in records:
        env = rec.datum["envelope"]
        known = until is None or env["recorded_time"] <= until
        try:
            if known:
                _fold_one(state, rec, changes)
        except CorruptStream as exc:
            changes.dead_letters.append(
                DeadLetter(rec.topic, rec.partition, rec.offset, str(exc), rec.raw)
            )
        changes.advance(rec.topic, rec.partition, rec.offset, env["event_time"] if known else None)
    return changes


def _fold_one(state: ProjectionState, rec: Decoded, changes: Changes) -> None:
    if rec.stream == "visit":
        _fold_visit(state, rec, changes)
        return
    if rec.stream == "rejection":
        _fold_rejection(rec, changes)
        return
    case_id = rec.datum["case_id"]
    deadlines = state.deadlines.get(case_id, ())
    step = fold_case(state.cases.get(case_id), deadlines, rec.event_type, rec.datum, state.ref)
    if step is None:
        changes.duplicates += 1
        return
    changes.applied += 1
    _move_standing(step, deadlines, changes)
    state.cases[case_id] = changes.cases[case_id] = step.after
    state.deadlines[case_id] = step.deadlines
    for d in step.changed_deadlines:
        changes.deadlines[d.deadline_id] = d
    # where the case's record is, so its history is read back without scanning the partition
    changes.timeline.append(step.timeline._replace(log_offset=rec.offset))
    day = local_date(step.timeline.event_time)
    changes.count(day, case_moves(rec.event_type, rec.datum, step))
    for cohort in (cohort_moves(rec.event_type, step), funnel_moves(step)):
        if cohort is not None:
            changes.count(*cohort)
    for other_day, moves in dated_moves(rec.event_type, step):
        changes.count(other_day, moves)
    row = step.after
    if rec.event_type == "CaseResolved":
        if step.before is not None and step.before.resolved_at is not None:
            # Reworked: the final resolution replaces the earlier one (a rare step, so the
            # batch's list is filtered rather than indexed).
            changes.resolutions = [r for r in changes.resolutions if r.case_id != row.case_id]
            changes.superseded.add(row.case_id)
        changes.resolutions.append(
            ResolutionRow(
                row.case_id,
                step.timeline.sequence,
                day,
                row.district_code,
                row.street_code,
                row.village_code,
                row.grid_id,
                rec.datum["department_code"],
                row.handling_hours or 0.0,
                bool(row.on_time),
            )
        )
    elif rec.event_type == "CaseNoticed":
        notice = rec.datum
        changes.notices.append(
            NoticeRow(
                notice["period"],
                row.case_id,
                notice["deadline_id"],
                notice["stage"],
                step.timeline.event_time,
                notice["due_time"],
                notice["department_code"],
                row.district_code,
                row.street_code,
                row.village_code,
                row.grid_id,
                notice["supervision_level"],
                row.urges,
            )
        )
    elif rec.event_type == "CaseReported":
        _count_words(state, rec.datum, row, day, changes)
        where = rec.datum["location"]
        if where is not None:
            changes.case_locations.append(
                CaseLocationRow(
                    row.case_id,
                    where["lon"],
                    where["lat"],
                    row.reported_at,
                    row.district_code,
                    row.street_code,
                    row.village_code,
                    row.grid_id,
                )
            )


def _move_standing(step: CaseStep, deadlines: tuple[DeadlineRow, ...], changes: Changes) -> None:
    """The case's moves in ``unit_now``. Most events leave its status and department as they
    were (deadlines scheduled and warned, extensions, escalations): those move it only if
    its deadlines changed whether it is overdue, which is cheaper to ask than where it stands."""
    before, after = step.before, step.after
    if (
        before is not None
        and before.status == after.status
        and before.department_code == after.department_code
        and (
            not step.changed_deadlines
            or is_overdue(before.status, deadlines) == is_overdue(after.status, step.deadlines)
        )
    ):
        return
    old = None if before is None else standing(before, deadlines)
    changes.shift(now_moves(old, standing(after, step.deadlines)))


def _count_words(
    state: ProjectionState, datum: Mapping[str, Any], row: CaseRow, day: date, changes: Changes
) -> None:
    lexicon = state.ref.lexicon(day)
    quarter = quarter_of(day)
    version = lexicon.version if lexicon else "-"
    for word in words_of(f"{datum['title']}。{datum['description']}", lexicon):
        changes.hot_words[(quarter, row.district_code or "-", version, word)] += 1


def _fold_rejection(rec: Decoded, changes: Changes) -> None:
    row = rejection_row(rec.datum)
    if row.event_id in changes.rejections:  # sent again within the batch: the first stands
        changes.duplicates += 1
        return
    changes.applied += 1
    changes.rejections[row.event_id] = row


def _fold_visit(state: ProjectionState, rec: Decoded, changes: Changes) -> None:
    d = rec.datum
    grid, sequence = d["grid_id"], d["envelope"]["sequence"]
    if sequence is not None and sequence <= state.visit_sequences.get(grid, 0):
        changes.duplicates += 1
        return
    changes.applied += 1
    if sequence is not None:
        state.visit_sequences[grid] = changes.visit_sequences[grid] = sequence
    chain, day, moves = visit_counts(d, state.ref)
    changes.count(day, moves)
    changes.visits.append(
        VisitRow(
            d["visit_id"],
            grid,
            sequence or 0,
            chain.get("village"),
            chain.get("street"),
            chain.get("district"),
            d["worker_id"],
            d["started_at"],
            d["ended_at"],
            day,
            d["households_visited"],
            len(d["items_checked"]),
            len(d["findings"]),
            len(d["track"]),
        )
    )
    changes.visit_tracks.append(
        VisitTrackRow(
            d["visit_id"],
            d["worker_id"],
            day,
            grid,
            [[p["lon"], p["lat"], p["t"].isoformat()] for p in d["track"]],
            list(d["items_checked"]),
            list(d["findings"]),
        )
    )
