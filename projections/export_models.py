"""The analysts' read-model export: each read model as it stands, ``<table>.parquet`` in key
order, and ``freshness.json`` saying how current each table is.

One read-only, repeatable-read transaction, so the files and their freshness agree; atomic
(``projections.export_files``); a server-side cursor per table, so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa  # type: ignore[import-untyped]
from psycopg import IsolationLevel, sql

from projections.errors import ProjectionStoreError, UnknownProjection
from projections.export_files import (
    MS_UTC,
    ROW_GROUP,
    ExportError,
    ExportFiles,
    Period,
    Sink,
    Written,
    json_value,
    listing,
)
from projections.reading import freshness
from projections.settings import ProjectorSettings
from projections.store import connect, schema_exists, use_schema
from projections.tables import READ_MODELS, TABLES, Table, topic_patterns

# The column a table's period filter applies to: a local date, or an instant (its local date).
PERIOD_COLUMNS = {
    "cases": "reported_at",
    "resolutions": "day",
    "visits": "day",
    "visit_tracks": "day",
    "stats_daily": "day",
}
_ARROW_TYPES = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
    "timestamptz": MS_UTC,
    "date": pa.date32(),
    "text[]": pa.list_(pa.string()),
    "jsonb": pa.string(),  # the JSON text, as PostgreSQL prints it
}


class UnknownTable(ExportError, LookupError):
    """A table that is not a read model."""


# --- tables ---------------------------------------------------------------------------------
def arrow_schema(table: Table) -> pa.Schema:
    """The Parquet columns of a read-model table: its SQL types mapped one to one, the key
    columns not nullable (they are NOT NULL in PostgreSQL)."""
    return pa.schema(
        [
            pa.field(name, _ARROW_TYPES[sql_type], nullable=name not in table.key)
            for name, sql_type in table.columns
        ]
    )


def select_tables(names: Sequence[str] | None) -> list[Table]:
    """The read models named (in the order given, each once), or all of them.

    Raises:
        UnknownTable: a name is not a read model; the message lists the known ones.
    """
    if not names:
        return list(TABLES)
    unknown = [n for n in names if n not in READ_MODELS]
    if unknown:
        raise UnknownTable(
            f"unknown table(s) {', '.join(unknown)}; the read models are: {', '.join(READ_MODELS)}"
        )
    return [READ_MODELS[n] for n in dict.fromkeys(names)]


# --- read models ----------------------------------------------------------------------------
@dataclass
class ModelsExport:
    """What ``export_models`` wrote, from which schema."""

    schema: str
    files: list[Written]
    filtered: list[str]  # the tables the period applied to


def export_models(
    settings: ProjectorSettings,
    out: Path,
    schema: str | None = None,
    tables: Sequence[str] | None = None,
    period: Period | None = None,
    *,
    on_rows: Callable[[str, int], None] | None = None,
    row_group: int = ROW_GROUP,
) -> ModelsExport:
    """Write ``<table>.parquet`` for each read model (all, or ``tables``) of ``schema`` (by
    default the active schema of ``FQ_PROJECTION``), rows in key order, and
    ``freshness.json``: per table, the latest event time of its sources' checkpoints.

    One read-only, repeatable-read transaction: the files and their freshness agree. With
    ``period``, tables in ``PERIOD_COLUMNS`` keep the rows of its local dates; the others are
    whole. ``on_rows`` gets (table, rows written since).

    Raises:
        UnknownTable, BadPeriod, OutputNotWritable, ExportError: asked for wrongly.
        UnknownProjection: no such schema, or the projection has no active schema.
        ProjectionStoreError: PostgreSQL cannot be reached (``FQ_PG_DSN``) or fails.
    """
    chosen = select_tables(tables)
    conn = connect(settings.pg_dsn.get_secret_value())
    try:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        name = _resolve_schema(conn, settings.projection, schema)
        _check_tables(conn, name, chosen)
        filtered = [t.name for t in chosen if period is not None and t.name in PERIOD_COLUMNS]
        with ExportFiles(out, row_group) as outputs:
            tables_json: dict[str, dict[str, Any]] = {}
            for table in chosen:
                sink = outputs.parquet(f"{table.name}.parquet", arrow_schema(table))
                _copy_table(
                    conn,
                    name,
                    table,
                    period if table.name in filtered else None,
                    sink,
                    row_group,
                    on_rows,
                )
                tables_json[table.name] = {
                    **_freshness(conn, name, table),
                    "period_column": PERIOD_COLUMNS[table.name] if table.name in filtered else None,
                    "rows": sink.rows,
                }
            outputs.json(
                "freshness.json",
                {
                    "projection": settings.projection,
                    "schema": name,
                    "period": None if period is None else period.as_json(),
                    "tables": tables_json,
                },
            )
            files = outputs.commit()
        conn.rollback()
        return ModelsExport(name, files, filtered)
    except psycopg.Error as exc:
        raise ProjectionStoreError(
            f"reading the read models from PostgreSQL failed: {exc}"
        ) from exc
    finally:
        conn.close()


def _copy_table(
    conn: psycopg.Connection[Any],
    schema: str,
    table: Table,
    period: Period | None,
    sink: Sink,
    batch: int,
    on_rows: Callable[[str, int], None] | None,
) -> None:
    query: sql.Composable = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(
            sql.SQL("{}::text").format(sql.Identifier(name))
            if kind == "jsonb"
            else sql.Identifier(name)
            for name, kind in table.columns
        ),
        sql.Identifier(schema, table.name),
    )
    params: tuple[Any, ...] = ()
    if period is not None:
        column = PERIOD_COLUMNS[table.name]
        local = dict(table.columns)[column] == "date"
        params = (period.start, period.end) if local else (period.utc_start, period.utc_end)
        query += sql.SQL(" WHERE {0} >= %s AND {0} < %s").format(sql.Identifier(column))
    query += sql.SQL(" ORDER BY {}").format(sql.SQL(", ").join(map(sql.Identifier, table.key)))
    with conn.cursor(name=f"fq_export_{table.name}") as cursor:
        cursor.itersize = batch
        cursor.execute(query, params)
        while rows := cursor.fetchmany(batch):
            for row in rows:
                sink.add(row)
            if on_rows is not None:
                on_rows(table.name, len(rows))
    sink.close()


def _projection_schemas(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'checkpoints' "
        "ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def _resolve_schema(conn: psycopg.Connection[Any], projection: str, schema: str | None) -> str:
    existing = _projection_schemas(conn)
    known = f"existing projection schemas: {listing(existing, len(existing)) or 'none'}"
    if schema is not None:
        if schema in existing:
            return schema
        what = "is not a projection schema" if schema_exists(conn, schema) else "does not exist"
        raise UnknownProjection(f"schema {schema} {what}; {known}")
    meta = conn.execute("SELECT to_regclass('fq_meta.active_projection')").fetchone()
    if meta is not None and meta[0] is not None:
        row = conn.execute(
            "SELECT schema_name FROM fq_meta.active_projection WHERE projection = %s", (projection,)
        ).fetchone()
        if row is not None:
            return str(row[0])
    raise UnknownProjection(
        f"projection {projection} (FQ_PROJECTION) has no active schema: run `fengqiao project`, "
        f"or name one with --schema; {known}"
    )


def _check_tables(conn: psycopg.Connection[Any], schema: str, tables: Sequence[Table]) -> None:
    present = {
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    }
    missing = [t.name for t in tables if t.name not in present]
    if missing:
        raise ExportError(
            f"schema {schema} has no table {', '.join(missing)} (built by an older version); "
            "replay into a new schema, or leave it out of --tables"
        )


def _freshness(conn: psycopg.Connection[Any], schema: str, table: Table) -> dict[str, Any]:
    """The latest event time the checkpoints of the table's source streams have reached, and
    ``complete_to``: the freshness the dashboard's queries report for the table."""
    row = conn.execute(
        sql.SQL(
            "SELECT max(max_event_time), coalesce(bool_and(caught_up), false) FROM {} "
            "WHERE topic LIKE ANY(%s)"
        ).format(sql.Identifier(schema, "checkpoints")),
        (topic_patterns(table.sources),),
    ).fetchone()
    latest, caught_up = row if row is not None else (None, False)
    use_schema(conn, schema)
    complete_to = freshness(conn, [table.name])
    return {
        "sources": list(table.sources),
        "max_event_time": None if latest is None else json_value(latest),
        "caught_up": bool(caught_up),
        "complete_to": None if complete_to is None else json_value(complete_to),
    }
