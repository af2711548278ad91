"""The read-model tables, declared once: columns come from the row dataclasses of the folds,
so a field added to a row is a column added to its table, with nothing to keep in step.

How a table is written: ``upsert`` (the row's latest state replaces the old), ``append``
(facts that never change), ``add`` (integer counters summed into what is there), ``replace``
(rebuilt whole, in the batch's transaction, whenever what it is derived from changes),
``first`` (facts that may be read again: the first row of a key is kept).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from domain.case_fold import CaseRow, TimelineRow
from domain.deadline_rows import DeadlineRow
from domain.stats_moves import METRICS
from events.topics import CASE_EVENTS, REJECTIONS, VISIT_EVENTS
from projections.now_fold import NOW_COLUMNS
from projections.rejection_fold import RejectionRow
from projections.rows import CaseLocationRow, NoticeRow, ResolutionRow, VisitRow, VisitTrackRow
from projections.units import ShapeRow, UnitRow

__all__ = ["READ_MODELS", "SOURCE_TOPICS", "TABLES", "Table", "ddl", "index_ddl", "topic_patterns"]

# The topic each source stream of the read models is read from (without a deployment's prefix).
SOURCE_TOPICS = {"case": CASE_EVENTS, "visit": VISIT_EVENTS, "rejection": REJECTIONS}

_SQL_TYPES = {
    str: "text",
    int: "bigint",
    float: "double precision",
    bool: "boolean",
    datetime: "timestamptz",
    date: "date",
}


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, SQL type)
    key: tuple[str, ...]
    mode: Literal["upsert", "append", "add", "replace", "first"]
    indexes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ("case",)  # the streams it is folded from (for freshness)
    # what a column added to a schema made before it holds in the rows already there
    defaults: tuple[tuple[str, str], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


def _sql_type(annotation: Any) -> str:
    hint = annotation
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is list:  # a list of text is an array; anything deeper, JSON
        return "text[]" if typing.get_args(hint) == (str,) else "jsonb"
    if typing.get_origin(hint) is dict:  # an object (a GeoJSON geometry): JSON
        return "jsonb"
    return _SQL_TYPES[hint]


def _from_row(name: str, row: type, key: tuple[str, ...], mode: Any, **kw: Any) -> Table:
    """The table of a row type: a dataclass, or a named tuple (whose rows COPY sends as is)."""
    hints = typing.get_type_hints(row)
    fields = getattr(row, "_fields", None) or [f.name for f in dataclasses.fields(row)]
    cols = tuple((f, _sql_type(hints[f])) for f in fields)
    defaults = tuple(
        (f.name, str(f.default).lower())
        for f in (dataclasses.fields(row) if dataclasses.is_dataclass(row) else ())
        if isinstance(f.default, bool | int | float)
    )
    return Table(name, cols, key, mode, defaults=defaults, **kw)


_ZERO_METRICS = tuple((m, "0") for m in METRICS)


TABLES: tuple[Table, ...] = (
    _from_row(
        "cases",
        CaseRow,
        ("case_id",),
        "upsert",
        indexes=(
            "status",
            "district_code, reported_at",
            "department_code, status",
            "district_code, status",
            "street_code, status",
            "grid_id, status",
            "village_code, status",
            "reported_at",
            "first_dispatched_at",  # the close rates' cohort, drilled latest first
            "department_code, reported_at",  # a department's reports, counted from its cases
            "street_code, reported_at",  # a street's cases of a period: the map's points
            # the 多次推诿 panel: the few cases flagged, by when (no scan of every case)
            "handoff_flagged_at WHERE handoff_flagged_at IS NOT NULL",
        ),
    ),
    _from_row(
        "deadlines",
        DeadlineRow,
        ("deadline_id",),
        "upsert",
        indexes=(
            "case_id",
            "department_code",
            "district_code",
            # the overdue and about-to-expire lists: only what is still running
            "done_at, due_time WHERE done_at IS NULL AND NOT cancelled",
            # the overdue distribution: the deadlines met late, by when they were met, and
            # those breached and still running
            "done_at WHERE done_at IS NOT NULL AND lateness_hours > 0 AND NOT cancelled",
            "breached_at WHERE breached_at IS NOT NULL AND done_at IS NULL AND NOT cancelled",
            # the same met late, read from the index alone (no visit to the deadlines' rows)
            (
                "done_at, case_id, lateness_hours, department_code, district_code "
                "WHERE done_at IS NOT NULL AND lateness_hours > 0 AND NOT cancelled"
            ),
        ),
    ),
    _from_row(
        "case_timeline",
        TimelineRow,
        ("case_id", "sequence"),
        "append",
        # a drill's page of facts, latest first, read in index order
        indexes=(
            "event_type, event_time, case_id, sequence",
            "actor_id, event_time",  # a worker's drill: what they did in a period
        ),
    ),
    _from_row(
        "resolutions",
        ResolutionRow,
        ("case_id", "sequence"),
        "append",
        # the first: a drill's page of resolutions, latest first, read in index order
        indexes=("day, case_id, sequence", "department_code, day", "district_code, day"),
    ),
    _from_row(
        "case_locations",
        CaseLocationRow,
        ("case_id",),
        "append",
        # a street's points of a period, read from the index alone (the rows never change)
        indexes=("street_code, reported_at, case_id, lon, lat",),
    ),
    _from_row(  # the month-close public notices (通报): one row per case listed
        "notices",
        NoticeRow,
        ("period", "case_id"),
        "append",
        indexes=("period, district_code", "period, department_code"),
    ),
    _from_row(
        "visits",
        VisitRow,
        ("visit_id",),
        "append",
        indexes=("worker_id, day", "grid_id, day"),
        sources=("visit",),
    ),
    _from_row(
        "visit_tracks",
        VisitTrackRow,
        ("visit_id",),
        "append",
        indexes=("worker_id, day",),
        sources=("visit",),
    ),
    Table(
        "visit_streams",
        (("grid_id", "text"), ("last_sequence", "bigint")),
        ("grid_id",),
        "upsert",
        sources=("visit",),
    ),
    Table(
        "stats_daily",
        (("level", "text"), ("code", "text"), ("day", "date"))
        + tuple((m, "bigint") for m in METRICS),
        ("level", "code", "day"),
        "add",
        indexes=("level, day",),
        sources=("case", "visit"),
        defaults=_ZERO_METRICS,
    ),
    Table(  # stats_daily summed per month ('2025-06') and quarter ('2025-Q2')
        "stats_period",
        (("level", "text"), ("code", "text"), ("period", "text"))
        + tuple((m, "bigint") for m in METRICS),
        ("level", "code", "period"),
        "add",
        indexes=("level, period",),
        sources=("case", "visit"),
        defaults=_ZERO_METRICS,
    ),
    Table(  # the cases each place and department holds now (projections.now_fold)
        "unit_now",
        (("level", "text"), ("code", "text")) + tuple((c, "bigint") for c in NOW_COLUMNS),
        ("level", "code"),
        "add",
        defaults=tuple((c, "0") for c in NOW_COLUMNS),
    ),
    Table(  # resolutions per handling-time bucket (projections.handling_hist)
        "handling_hist",
        (
            ("level", "text"),
            ("code", "text"),
            ("period", "text"),
            ("bucket", "integer"),
            ("resolutions", "bigint"),
        ),
        ("level", "code", "period", "bucket"),
        "add",
        indexes=("level, period, code, bucket",),
    ),
    Table(  # visit progress per grid and day, month and quarter (rollups.add_grid_visits)
        "grid_visits",
        (
            ("grid_id", "text"),
            ("period", "text"),
            ("visits", "bigint"),
            ("households", "bigint"),
            ("working_days_visited", "bigint"),
            ("workers", "bigint"),
            ("last_visit", "timestamptz"),
        ),
        ("grid_id", "period"),
        "add",
        indexes=("period, grid_id",),
        sources=("visit",),
    ),
    # What grid_visits has counted once: each grid's working days with a visit, and each
    # grid's workers per period (a grid's visits are in one partition: no two writers).
    Table(
        "grid_visit_days",
        (("grid_id", "text"), ("day", "date")),
        ("grid_id", "day"),
        "first",
        sources=("visit",),
    ),
    Table(
        "grid_visit_workers",
        (("grid_id", "text"), ("period", "text"), ("worker_id", "text")),
        ("grid_id", "period", "worker_id"),
        "first",
        sources=("visit",),
    ),
    Table(  # grid_visits summed per district and street and period (rollups.add_grid_visits)
        "place_visits",
        (
            ("level", "text"),
            ("code", "text"),
            ("period", "text"),
            ("grids_visited", "bigint"),
            ("visits", "bigint"),
            ("households", "bigint"),
            ("working_days_visited", "bigint"),
            ("workers", "bigint"),
            ("last_visit", "timestamptz"),
        ),
        ("level", "code", "period"),
        "add",
        sources=("visit",),
    ),
    Table(
        "hot_words",
        (
            ("quarter", "text"),
            ("district_code", "text"),
            ("lexicon_version", "text"),
            ("word", "text"),
            ("count", "bigint"),
        ),
        ("quarter", "district_code", "lexicon_version", "word"),
        "add",
    ),
    Table(  # hot_words summed over the districts (rollups.add_city_words), in word order
        "city_hot_words",
        (
            ("quarter", "text"),
            ("word", "text"),
            ("lexicon_version", "text"),
            ("count", "bigint"),
        ),
        ("quarter", "word", "lexicon_version"),
        "add",
    ),
    # The reference log is read to its end before every batch, so the units are as fresh as
    # the case and visit batches they are written with.
    _from_row(
        "units",
        UnitRow,
        ("level", "code"),
        "replace",
        indexes=(
            "level, district_code",
            "level, street_code",
            "level, village_code",
            "level, parent_code",
            "level, grid_id",  # a grid's workers (the grid's own row is its key)
        ),
        sources=("case", "visit"),
    ),
    Table(  # the grids and workers each place holds, counted whenever the units are rebuilt
        "unit_sizes",
        (("level", "text"), ("code", "text"), ("grids", "bigint"), ("workers", "bigint")),
        ("level", "code"),
        "replace",
        sources=("case", "visit"),
    ),
    # Drawn when the units are rebuilt, in the same transaction (projections.unit_shapes).
    _from_row("unit_shapes", ShapeRow, ("level", "code"), "replace", sources=("case", "visit")),
    # A refusal can be on the log more than once: logs written before the workflow answered
    # duplicates on fq.outcomes hold copies, and a submission refused before its case existed
    # is decided again when sent again. The first answer stands.
    _from_row(
        "rejections",
        RejectionRow,
        ("event_id",),
        "first",
        indexes=("case_id",),
        sources=("rejection",),
    ),
)

READ_MODELS = {t.name: t for t in TABLES}

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS checkpoints (
    topic text NOT NULL,
    partition int NOT NULL,
    next_offset bigint NOT NULL,
    max_event_time timestamptz,
    caught_up boolean NOT NULL DEFAULT false,
    PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS dead_letters (
    topic text NOT NULL,
    partition int NOT NULL,
    "offset" bigint NOT NULL,
    reason text NOT NULL,
    raw bytea NOT NULL,
    PRIMARY KEY (topic, partition, "offset")
);
CREATE TABLE IF NOT EXISTS places (
    code text NOT NULL,
    effective_from date NOT NULL,
    level text NOT NULL,
    name text NOT NULL,
    parent_code text,
    retired boolean NOT NULL,
    PRIMARY KEY (code, effective_from)
);
-- the outer ring of the place's polygon as in its PlaceDefined: [[lon, lat], ...], open (the
-- first point not repeated); null when the definition has none (PlaceDefined v1)
ALTER TABLE places ADD COLUMN IF NOT EXISTS boundary jsonb;
-- the reference sequence ``units`` was last built from: a cache of the units' shapes is good
-- while it stays the same
CREATE TABLE IF NOT EXISTS units_version (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    reference_sequence bigint NOT NULL
);
"""


def topic_patterns(sources: tuple[str, ...] | set[str]) -> list[str]:
    """``LIKE`` patterns matching the topics of ``sources`` under any deployment's prefix."""
    return [f"%{SOURCE_TOPICS[s]}" for s in sorted(sources)]


def ddl(indexes: bool = True) -> str:
    """CREATE statements for every table, in the current ``search_path`` schema; without the
    secondary indexes when ``indexes`` is false (``index_ddl`` adds them later)."""
    parts = [_BOOKKEEPING]
    for t in TABLES:
        cols = ", ".join(
            f"{name} {sql}" + (" NOT NULL" if name in t.key else "") for name, sql in t.columns
        )
        parts.append(
            f"CREATE TABLE IF NOT EXISTS {t.name} ({cols}, PRIMARY KEY ({', '.join(t.key)}));"
        )
        parts.append(_added_columns(t))
    if indexes:
        parts.append(index_ddl())
    return "\n".join(parts)


def _added_columns(t: Table) -> str:
    """Columns declared since a schema was made, added to it: the rows already there get the
    row type's default (0 for a counter), or null."""
    defaults = dict(t.defaults)
    adds = ", ".join(
        f"ADD COLUMN IF NOT EXISTS {name} {sql}"
        + (f" DEFAULT {defaults[name]}" if name in defaults else "")
        for name, sql in t.columns
        if name not in t.key
    )
    return f"ALTER TABLE {t.name} {adds};" if adds else ""  # a table of key columns only


def index_ddl() -> str:
    """CREATE INDEX statements for the tables' secondary indexes (idempotent); an index
    declared as ``columns WHERE condition`` is partial."""
    return "\n".join(
        _index(f"{t.name}_i{i}", t.name, expr) for t in TABLES for i, expr in enumerate(t.indexes)
    )


def _index(name: str, table: str, expr: str) -> str:
    columns, _, where = expr.partition(" WHERE ")
    partial = f" WHERE {where}" if where else ""
    return f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns}){partial};"
