"""The analysts' Parquet export: the canonical logs as flat event rows (``export_events``) and
the read models as they stand (``export_models``).

Exports are deterministic (the same log, or the same tables, and period give the same bytes:
rows in log or key order, no clock in the files) and atomic (every file is written as
``<name>.partial`` and renamed only when the whole export succeeded). Memory stays flat: rows
go to Parquet a row group at a time, read one partition or one server-side cursor at a time.

The pure parts (``Period``, ``event_row``, ``payload_json``, ``arrow_schema``,
``select_tables``) take plain values; the two exports do the I/O.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any, Self

import psycopg
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from psycopg import IsolationLevel, sql

from domain.calendar import SHANGHAI
from events.codec import AvroCodec
from events.errors import BrokerUnavailable, DecodeError
from events.kafka_io import reader, where
from events.models import model_for
from events.topics import CANONICAL
from projections.errors import ProjectionError, ProjectionStoreError, UnknownProjection
from projections.read_progress import STALL_S, ReadProgress
from projections.reading import freshness
from projections.settings import ProjectorSettings
from projections.store import connect, schema_exists, use_schema
from projections.tables import READ_MODELS, TABLES, Table, topic_patterns

__all__ = [
    "KEY_COLUMN",
    "PERIOD_COLUMNS",
    "STREAMS",
    "BadPeriod",
    "EventsExport",
    "ExportError",
    "ExportFiles",
    "ModelsExport",
    "OutputNotWritable",
    "Period",
    "Undecodable",
    "UndecodableRecords",
    "UnknownTable",
    "Written",
    "arrow_schema",
    "event_row",
    "event_schema",
    "export_events",
    "export_models",
    "payload_json",
    "select_tables",
]

ROW_GROUP = 50_000
_CHUNK = 5_000
STREAMS = ("case", "visit", "reference")
KEY_COLUMN = {"case": "case_id", "visit": "grid_id", "reference": "entity_id"}
# The column a table's period filter applies to: a local date, or an instant (its local date).
PERIOD_COLUMNS = {
    "cases": "reported_at",
    "resolutions": "day",
    "visits": "day",
    "visit_tracks": "day",
    "stats_daily": "day",
}
_MS_UTC = pa.timestamp("ms", tz="UTC")
_ARROW_TYPES = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
    "timestamptz": _MS_UTC,
    "date": pa.date32(),
    "text[]": pa.list_(pa.string()),
    "jsonb": pa.string(),  # the JSON text, as PostgreSQL prints it
}
_METADATA_TIMEOUT_S = 10.0
_BATCH = 10_000
_POLL_S = 0.2
# Partitions are read one after the other: a fetch left waiting on one that is finished
# (500 ms by default) would delay the next one by as much.
_CONSUMER = {
    "enable.partition.eof": True,
    "fetch.wait.max.ms": 10,
    "log_level": 2,
    "queued.max.messages.kbytes": 16384,  # prefetch of the one partition read: 16 MiB, not 64
}
_LISTED = 20  # undecodable records and schemas named in a message


# --- errors ---------------------------------------------------------------------------------
class ExportError(ProjectionError):
    """An export asked for wrongly, or one that could not be completed; nothing was written."""


class BadPeriod(ExportError, ValueError):
    """``--from``/``--to`` do not make a period."""


class UnknownTable(ExportError, LookupError):
    """A table that is not a read model."""


class OutputNotWritable(ExportError):
    """The output directory cannot be created or written."""


@dataclass(frozen=True)
class Undecodable:
    """A record of the log that could not be decoded, and why."""

    topic: str
    partition: int
    offset: int
    reason: str

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}: {self.reason}"


class UndecodableRecords(ExportError):
    """Records could not be decoded and skipping them was not asked for."""

    def __init__(self, count: int, first: Sequence[Undecodable]) -> None:
        self.count = count
        self.first = tuple(first)
        super().__init__(
            f"{count} record(s) could not be decoded, so nothing was written "
            f"(--skip-undecodable exports the rest): {_listing(map(str, first), count)}"
        )


def _listing(items: Iterable[str], count: int) -> str:
    shown = list(items)[:_LISTED]
    more = count - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


# --- the period -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """Asia/Shanghai local dates ``[start, end)``, and the UTC instants bounding them.

    Raises:
        BadPeriod: ``start`` is not before ``end``.
    """

    start: date
    end: date
    utc_start: datetime = field(init=False, repr=False)
    utc_end: datetime = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise BadPeriod(
                f"--from {self.start} is not before --to {self.end}: the period is "
                "[from, to) in Asia/Shanghai dates, so --to is the day after the last one"
            )
        for name, day in (("utc_start", self.start), ("utc_end", self.end)):
            midnight = datetime.combine(day, clock_time(), SHANGHAI).astimezone(UTC)
            object.__setattr__(self, name, midnight)

    @classmethod
    def optional(cls, start: date | None, end: date | None) -> Period | None:
        """The period of ``--from``/``--to`` when both are given, None when neither is."""
        if start is None and end is None:
            return None
        if start is None or end is None:
            raise BadPeriod("give --from and --to together, or neither for whole tables")
        return cls(start, end)

    def contains(self, instant: datetime) -> bool:
        """Whether an aware instant falls on one of the period's local dates."""
        return self.utc_start <= instant < self.utc_end

    def as_json(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


# --- rows of the event files ----------------------------------------------------------------
def event_schema(stream: str) -> pa.Schema:
    """The columns of ``<stream>-events.parquet``; the same for every event type."""
    required = [
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("event_type", pa.string()),
        ("event_id", pa.string()),
        ("event_time", _MS_UTC),
        ("recorded_time", _MS_UTC),
        ("source_system", pa.string()),
        ("actor_id", pa.string()),
        ("actor_role", pa.string()),
    ]
    optional = [("sequence", pa.int64())]
    after = [(KEY_COLUMN[stream], pa.string())]
    trailing = [("correlation_id", pa.string()), ("causation_id", pa.string())]
    return pa.schema(
        [pa.field(n, t, nullable=False) for n, t in required]
        + [pa.field(n, t) for n, t in optional]
        + [pa.field(n, t, nullable=False) for n, t in after]
        + [pa.field(n, t) for n, t in trailing]
        + [pa.field("payload", pa.string(), nullable=False)]
    )


def event_row(
    stream: str, topic: str, partition: int, offset: int, event_type: str, datum: dict[str, Any]
) -> dict[str, Any]:
    """One decoded record as a row of ``event_schema(stream)``, columns in its order: the
    envelope flattened, the entity key, and every other field as ``payload`` JSON."""
    envelope = datum["envelope"]
    key_field = model_for(event_type).key_field
    return {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "event_type": event_type,
        "event_id": envelope["event_id"],
        "event_time": envelope["event_time"],
        "recorded_time": envelope["recorded_time"],
        "source_system": envelope["source_system"],
        "actor_id": envelope["actor"]["id"],
        "actor_role": envelope["actor"]["role"],
        "sequence": envelope.get("sequence"),
        KEY_COLUMN[stream]: datum[key_field],
        "correlation_id": envelope.get("correlation_id"),
        "causation_id": envelope.get("causation_id"),
        "payload": payload_json(
            {k: v for k, v in datum.items() if k != "envelope" and k != key_field}
        ),
    }


def payload_json(fields: dict[str, Any]) -> str:
    """Compact JSON with keys sorted at every level, instants as ISO-8601 UTC milliseconds
    (``2025-06-02T01:30:00.000Z``) and dates as ``2025-06-02``: equal datums, equal text."""
    return json.dumps(
        fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_value
    )


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"naive datetime {value!r} in an event payload")
        text = value.astimezone(UTC).isoformat(timespec="milliseconds")
        return text.removesuffix("+00:00") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not an Avro value")


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


# --- writing Parquet atomically -------------------------------------------------------------
@dataclass(frozen=True)
class Written:
    """One file of a finished export."""

    name: str
    path: Path
    rows: int


class _Sink:
    """One Parquet file being written under ``<name>.partial``, a row group per ``row_group``
    rows. Rows wait as Python tuples for at most ``_CHUNK`` rows, then as Arrow columns (a
    tenth of the memory) until their row group is written."""

    def __init__(self, path: Path, schema: pa.Schema, row_group: int) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.schema = schema
        self.rows = 0
        self._row_group = row_group
        self._pending: list[Sequence[Any]] = []
        self._batches: list[pa.RecordBatch] = []
        self._batched = 0
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
            self.partial, schema, compression="zstd"
        )

    def add(self, row: Sequence[Any]) -> None:
        self._pending.append(row)
        if len(self._pending) >= min(_CHUNK, self._row_group - self._batched):
            self._convert()
            if self._batched >= self._row_group:
                self._write()

    def close(self) -> None:
        if self._writer is not None:
            self._convert()
            self._write()
            self._writer.close()
            self._writer = None

    def _convert(self) -> None:
        if not self._pending:
            return
        columns = zip(*self._pending, strict=True)
        arrays = [self._array(f, values) for f, values in zip(self.schema, columns, strict=True)]
        self._batches.append(pa.record_batch(arrays, schema=self.schema))
        self._batched += len(self._pending)
        self._pending = []

    def _write(self) -> None:
        if not self._batches or self._writer is None:
            return
        table = pa.Table.from_batches(self._batches, self.schema)
        self._writer.write_table(table, row_group_size=self._batched)
        self.rows += self._batched
        self._batches, self._batched = [], 0

    def _array(self, column: pa.Field, values: Sequence[Any]) -> pa.Array:
        try:
            if pa.types.is_timestamp(column.type):
                # via microseconds, so that a finer instant fails the cast instead of being cut
                return pa.array(values, pa.timestamp("us", tz="UTC")).cast(column.type)
            return pa.array(values, column.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ExportError(f"{self.path.name}: column {column.name}: {exc}") from exc


class ExportFiles:
    """The files of one export: renamed into place together by ``commit``, or all removed
    (with the directory, if the export made it) when the export fails."""

    def __init__(self, out: Path, row_group: int) -> None:
        self.out = out
        self._row_group = row_group
        self._made = not out.exists()
        self._sinks: list[_Sink] = []
        self._json: list[tuple[Path, Path]] = []
        try:
            out.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=out):
                pass
        except OSError as exc:
            reason = "it is not a directory" if out.exists() and not out.is_dir() else exc.strerror
            raise OutputNotWritable(f"cannot write the export to {out}: {reason or exc}") from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self._discard()

    def parquet(self, name: str, schema: pa.Schema) -> _Sink:
        sink = _Sink(self.out / name, schema, self._row_group)
        self._sinks.append(sink)
        return sink

    def json(self, name: str, value: Any) -> None:
        path = self.out / name
        partial = path.with_name(name + ".partial")
        partial.write_text(
            json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8"
        )
        self._json.append((partial, path))

    def commit(self) -> list[Written]:
        for sink in self._sinks:
            sink.close()
        for sink in self._sinks:
            sink.partial.replace(sink.path)
        for partial, path in self._json:
            partial.replace(path)
        return [Written(s.path.name, s.path, s.rows) for s in self._sinks]

    def _discard(self) -> None:
        for sink in self._sinks:
            try:
                sink.close()
            except Exception:  # noqa: BLE001, S110 - the export's own error is the one to report
                pass
        partials = [s.partial for s in self._sinks] + [p for p, _ in self._json]
        for partial in partials:
            partial.unlink(missing_ok=True)
        if self._made and not any(self.out.iterdir()):
            self.out.rmdir()


# --- events ---------------------------------------------------------------------------------
@dataclass
class EventsExport:
    """What ``export_events`` wrote, and the undecodable records it skipped."""

    files: list[Written]
    read: int
    undecodable: int
    first_undecodable: list[Undecodable]


def export_events(
    settings: ProjectorSettings,
    codec: AvroCodec,
    out: Path,
    period: Period,
    streams: Sequence[str] = STREAMS,
    *,
    skip_undecodable: bool = False,
    on_total: Callable[[int], None] | None = None,
    on_read: Callable[[int], None] | None = None,
    row_group: int = ROW_GROUP,
) -> EventsExport:
    """Write ``<stream>-events.parquet`` to ``out`` for each stream: the events of its
    canonical log whose event time falls in ``period``, in (partition, offset) order.

    Every partition is read from its start to the end it had when the export started,
    committed records only (``FQ_KAFKA_BOOTSTRAP``, ``FQ_TOPIC_PREFIX``). ``on_total`` gets
    the number of records to read, ``on_read`` each number read since.

    Raises:
        BrokerUnavailable: Kafka cannot be reached or stops delivering.
        ExportError: a topic is missing; ``UndecodableRecords`` when a record does not
            decode and ``skip_undecodable`` is false; ``OutputNotWritable``.
        RegistryUnavailable: the schema registry cannot be reached.
    """
    topics = {s: settings.topic(CANONICAL[s]) for s in dict.fromkeys(streams)}
    consumer = reader(settings.kafka_bootstrap, "export", **_CONSUMER)
    try:
        ends = {s: _extents(consumer, settings, topic) for s, topic in topics.items()}
        if on_total is not None:
            on_total(sum(end - low for extents in ends.values() for _, low, end in extents))
        read, bad = 0, _Bad()
        with ExportFiles(out, row_group) as outputs:
            for stream, topic in topics.items():
                sink = outputs.parquet(f"{stream}-events.parquet", event_schema(stream))
                for partition, low, end in ends[stream]:
                    for msg in _records(consumer, topic, partition, low, end, on_read):
                        read += 1
                        offset = where(msg)[2]
                        try:
                            event_type, datum = codec.decode_datum(
                                msg.value() or b"", topic, partition, offset
                            )
                        except DecodeError as exc:
                            bad.add(Undecodable(topic, partition, offset, exc.reason))
                            continue
                        if period.contains(datum["envelope"]["event_time"]):
                            row = event_row(stream, topic, partition, offset, event_type, datum)
                            sink.add(tuple(row.values()))
                sink.close()
            if bad.count and not skip_undecodable:
                raise UndecodableRecords(bad.count, bad.first)
            files = outputs.commit()
        return EventsExport(files, read, bad.count, bad.first)
    finally:
        consumer.close()


@dataclass
class _Bad:
    count: int = 0
    first: list[Undecodable] = field(default_factory=list)

    def add(self, record: Undecodable) -> None:
        self.count += 1
        if len(self.first) < _LISTED:
            self.first.append(record)


def _extents(
    consumer: Consumer, settings: ProjectorSettings, topic: str
) -> list[tuple[int, int, int]]:
    """(partition, first offset, end offset) of every partition of ``topic``, now."""
    try:
        meta = consumer.list_topics(topic, timeout=_METADATA_TIMEOUT_S)
        found = meta.topics.get(topic)
        if found is None or found.error is not None or not found.partitions:
            raise ExportError(
                f"topic {topic} does not exist on Kafka at {settings.kafka_bootstrap} "
                f"(FQ_TOPIC_PREFIX={settings.topic_prefix!r})"
            )
        out = []
        for p in sorted(found.partitions):
            tp = TopicPartition(topic, p)
            low, high = consumer.get_watermark_offsets(tp, timeout=_METADATA_TIMEOUT_S)
            out.append((p, low, high))
        return out
    except KafkaException as exc:
        raise BrokerUnavailable(
            f"cannot reach Kafka at {settings.kafka_bootstrap} (FQ_KAFKA_BOOTSTRAP) "
            f"to read {topic}: {exc.args[0] if exc.args else exc}"
        ) from exc


def _records(
    consumer: Consumer,
    topic: str,
    partition: int,
    low: int,
    end: int,
    on_read: Callable[[int], None] | None,
) -> Iterator[Message]:
    """The committed records of one partition from ``low`` up to ``end``, in offset order;
    ``on_read`` gets the offsets passed (transaction markers and aborted records included)."""
    if end <= low:
        return
    consumer.assign([TopicPartition(topic, partition, low)])
    progress = ReadProgress(low, end, time.monotonic(), stall_s=STALL_S)
    while not progress.complete:
        position = progress.position
        # Asking for no more than is left returns at once when no transaction marker is left.
        for msg in consumer.consume(min(_BATCH, end - position), _POLL_S):
            at_topic, at_partition, offset = where(msg)
            if at_topic != topic or at_partition != partition:
                continue  # fetched before this partition was assigned
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    raise BrokerUnavailable(f"reading {topic}[{partition}] at {position}: {err}")
                position = max(position, offset)
            elif offset >= end:
                position = end
            else:
                yield msg
                position = offset + 1
        if position == progress.position:  # perhaps only transaction markers were passed
            now_at = consumer.position([TopicPartition(topic, partition)])[0].offset
            position = max(position, now_at)
        now = time.monotonic()
        moved = progress.reached(min(position, end), now)
        if moved:
            if on_read is not None:
                on_read(moved)
        elif progress.stalled(now):
            raise BrokerUnavailable(
                f"Kafka delivered nothing of {topic}[{partition}] for {STALL_S:.0f}s at offset "
                f"{progress.position} of {end} (a transaction left open, or the broker gone)"
            )
    consumer.unassign()


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
    sink: _Sink,
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
    known = f"existing projection schemas: {_listing(existing, len(existing)) or 'none'}"
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
        "max_event_time": None if latest is None else _json_value(latest),
        "caught_up": bool(caught_up),
        "complete_to": None if complete_to is None else _json_value(complete_to),
    }
