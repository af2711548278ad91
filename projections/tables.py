"""The read-model tables, declared once: columns come from the row dataclasses of the folds,
so a field added to a row is a column added to its table, with nothing to keep in step.

How a table is written: ``upsert`` (the row's latest state replaces the old), ``append``
(facts that never change), ``add`` (integer counters summed into what is there), ``replace``
(rebuilt whole, in the batch's transaction, whenever what it is derived from changes).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from projections.batch import ResolutionRow, VisitRow
from projections.case_fold import CaseRow, DeadlineRow, TimelineRow
from projections.stats_fold import METRICS
from projections.units import UnitRow

__all__ = ["READ_MODELS", "TABLES", "Table", "ddl", "index_ddl"]

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
    mode: Literal["upsert", "append", "add", "replace"]
    indexes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ("case",)  # the streams it is folded from (for freshness)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


def _sql_type(annotation: Any) -> str:
    hint = annotation
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return _SQL_TYPES[hint]


def _from_row(name: str, row: type, key: tuple[str, ...], mode: Any, **kw: Any) -> Table:
    """The table of a row type: a dataclass, or a named tuple (whose rows COPY sends as is)."""
    hints = typing.get_type_hints(row)
    fields = getattr(row, "_fields", None) or [f.name for f in dataclasses.fields(row)]
    cols = tuple((f, _sql_type(hints[f])) for f in fields)
    return Table(name, cols, key, mode, **kw)


TABLES: tuple[Table, ...] = (
    _from_row(
        "cases",
        CaseRow,
        ("case_id",),
        "upsert",
        indexes=("status", "district_code, reported_at", "department_code, status"),
    ),
    _from_row(
        "deadlines",
        DeadlineRow,
        ("deadline_id",),
        "upsert",
        indexes=("case_id", "department_code", "district_code"),
    ),
    _from_row("case_timeline", TimelineRow, ("case_id", "sequence"), "append"),
    _from_row(
        "resolutions",
        ResolutionRow,
        ("case_id", "sequence"),
        "append",
        indexes=("day", "department_code, day", "district_code, day"),
    ),
    _from_row(
        "visits",
        VisitRow,
        ("visit_id",),
        "append",
        indexes=("worker_id, day", "grid_id, day"),
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
        ),
        sources=("case", "visit"),
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
    if indexes:
        parts.append(index_ddl())
    return "\n".join(parts)


def index_ddl() -> str:
    """CREATE INDEX statements for the tables' secondary indexes (idempotent)."""
    return "\n".join(
        f"CREATE INDEX IF NOT EXISTS {t.name}_i{i} ON {t.name} ({expr});"
        for t in TABLES
        for i, expr in enumerate(t.indexes)
    )
