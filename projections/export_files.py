"""What both Parquet exports share: the period they filter on, their errors, values as JSON
text, and files written atomically (``<name>.partial`` renamed only when the whole export
succeeded), a row group at a time so memory stays flat."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any, Self

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from domain.calendar import SHANGHAI
from projections.errors import ProjectionError

ROW_GROUP = 50_000
_CHUNK = 5_000
LISTED = 20  # undecodable records and schemas named in a message
MS_UTC = pa.timestamp("ms", tz="UTC")


# --- errors ---------------------------------------------------------------------------------
class ExportError(ProjectionError):
    """An export asked for wrongly, or one that could not be completed; nothing was written."""


class BadPeriod(ExportError, ValueError):
    """``--from``/``--to`` do not make a period."""


class OutputNotWritable(ExportError):
    """The output directory cannot be created or written."""


def listing(items: Iterable[str], count: int) -> str:
    shown = list(items)[:LISTED]
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


# --- values as JSON text -------------------------------------------------------------------
def payload_json(fields: dict[str, Any]) -> str:
    """Compact JSON with keys sorted at every level, instants as ISO-8601 UTC milliseconds
    (``2025-06-02T01:30:00.000Z``) and dates as ``2025-06-02``: equal datums, equal text."""
    return json.dumps(
        fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=json_value
    )


def json_value(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"naive datetime {value!r} in an event payload")
        text = value.astimezone(UTC).isoformat(timespec="milliseconds")
        return text.removesuffix("+00:00") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not an Avro value")


# --- writing Parquet atomically -------------------------------------------------------------
@dataclass(frozen=True)
class Written:
    """One file of a finished export."""

    name: str
    path: Path
    rows: int


class Sink:
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
        self._sinks: list[Sink] = []
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

    def parquet(self, name: str, schema: pa.Schema) -> Sink:
        sink = Sink(self.out / name, schema, self._row_group)
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
