"""What the workflow keeps in its tables, and how it is written there.

Per case (table ``cases``): a ``CaseRecord``, as JSON. Per grid (``visit_grids``): the last
sequence of its visit stream (``GridVisits``). Per accepted visit (``visits``, by event id):
its sequence and canonical bytes, so a repeated visit submission is answered by them.

A ``CaseRecord`` is the ``CaseState`` that ``decide`` needs, the inbox partition the case lives
on (where the deadline trigger submits its signals), and the encoded bytes of the case's last
``RECENT`` canonical events, so that a duplicate submission is answered by re-sending exactly
the bytes that were written the first time; and the last ``RECENT`` rejections of submissions
to the case, for the same reason: a submission sent again (a retry) must get its first answer,
not a new one decided against what later submissions did to the case.

The JSON is our own, not a faust record and not Avro: the table is private to the workflow,
rebuilt from its changelog topic, and carries no contract. It is derived from the dataclass
fields of ``CaseState`` (enums by value, instants in ISO 8601 with their offset, tuples as
lists), so a field the pure core adds with a default needs no change here; a record written
before the field existed decodes with the default.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import functools
import struct
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import orjson

from processors.rules.case_state import CaseState

__all__ = [
    "RECENT",
    "CaseRecord",
    "GridVisits",
    "StoredEvent",
    "dumps",
    "dumps_grid",
    "dumps_written",
    "loads",
    "loads_grid",
    "loads_written",
]

FORMAT = 1
RECENT = 16
"""How many canonical events per case are kept byte for byte for re-sends."""


@dataclass(frozen=True)
class StoredEvent:
    """One canonical event as written: its sequence, the submission that caused it (its own
    event id for the stamped submission) and the framed Avro bytes."""

    sequence: int
    submission_id: str
    value: bytes

    @functools.cached_property
    def text(self) -> str:
        """``value`` in base64, as the case record's JSON holds it (computed once per event,
        though the record is written again with every later event of the case)."""
        return base64.b64encode(self.value).decode("ascii")


@dataclass(frozen=True)
class CaseRecord:
    """The table value of one case."""

    state: CaseState
    partition: int
    recent: tuple[StoredEvent, ...] = ()
    # refused submissions: the case's sequence then, the submission id, the rejection's bytes
    rejected: tuple[StoredEvent, ...] = ()

    def appended(self, state: CaseState, written: Iterable[StoredEvent]) -> CaseRecord:
        """The record after ``written`` (in log order) took the case to ``state``."""
        recent = (*self.recent, *written)[-RECENT:]
        return CaseRecord(state, self.partition, recent, self.rejected)

    def refused(self, rejection: StoredEvent) -> CaseRecord:
        """The record once a submission to the case was rejected (``rejection.value``)."""
        rejected = (*self.rejected, rejection)[-RECENT:]
        return CaseRecord(self.state, self.partition, self.recent, rejected)

    def rejection_of(self, submission_id: str) -> StoredEvent | None:
        """The rejection sent for that submission, if it is one of the last ``RECENT``."""
        return next((r for r in self.rejected if r.submission_id == submission_id), None)

    def written_for(self, sequence: int) -> list[StoredEvent] | None:
        """The events one accepted submission wrote: the one at ``sequence`` and the events it
        caused. ``None`` when that sequence has left the ``RECENT`` window."""
        head = next((e for e in self.recent if e.sequence == sequence), None)
        if head is None:
            return None
        return [e for e in self.recent if e.submission_id == head.submission_id]


@dataclass(frozen=True)
class GridVisits:
    """The table value of one grid's visit stream: its partition and last sequence."""

    partition: int
    sequence: int


def dumps(record: CaseRecord) -> bytes:
    """The record as compact UTF-8 JSON.

    orjson writes the state's dataclasses, enums (by value), instants (ISO 8601 with their
    offset) and tuples (as lists) itself, in the form ``loads`` reads; this runs once per
    accepted case submission, so it must cost microseconds, not tens of them.
    """
    payload = {
        "v": FORMAT,
        "p": record.partition,
        "state": record.state,
        "recent": [[e.sequence, e.submission_id, e.text] for e in record.recent],
        "rejected": [[e.sequence, e.submission_id, e.text] for e in record.rejected],
    }
    return orjson.dumps(payload)


def loads(data: bytes) -> CaseRecord:
    """The record ``dumps`` wrote. Raises ``ValueError`` for anything else."""
    payload = orjson.loads(data)
    if not isinstance(payload, dict) or payload.get("v") != FORMAT:
        raise ValueError(f"not a case record of format {FORMAT}")
    return CaseRecord(
        state=_decoder(CaseState)(payload["state"]),
        partition=int(payload["p"]),
        recent=_stored(payload["recent"]),
        rejected=_stored(payload.get("rejected", ())),  # none in a record written before them
    )


def _stored(rows: Iterable[list[Any]]) -> tuple[StoredEvent, ...]:
    return tuple(
        StoredEvent(int(seq), str(sid), base64.b64decode(value)) for seq, sid, value in rows
    )


def dumps_grid(grid: GridVisits) -> bytes:
    return orjson.dumps({"v": FORMAT, "p": grid.partition, "seq": grid.sequence})


def loads_grid(data: bytes) -> GridVisits:
    payload = orjson.loads(data)
    return GridVisits(partition=int(payload["p"]), sequence=int(payload["seq"]))


_SEQ = struct.Struct(">q")


def dumps_written(event: StoredEvent) -> bytes:
    """One written event, for the table of visits by event id: sequence, then the bytes."""
    return _SEQ.pack(event.sequence) + event.value


def loads_written(submission_id: str, data: bytes) -> StoredEvent:
    return StoredEvent(_SEQ.unpack_from(data)[0], submission_id, data[_SEQ.size :])


Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


@cache
def _decoder(hint: Any) -> Convert:
    """A function from the JSON data of a value of type ``hint`` (as ``dumps`` writes it) to
    the value, built once per type; a field missing from the data takes its default."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = _decoder(_optional(args))
        return _same if inner is _same else (lambda v: None if v is None else inner(v))
    if origin is tuple:
        item = _decoder(args[0])
        return tuple if item is _same else (lambda v: tuple(item(x) for x in v))
    if origin is dict:
        key, item = _decoder(args[0]), _decoder(args[1])
        if key is _same and item is _same:
            return dict
        return lambda v: {key(k): item(x) for k, x in v.items()}
    if dataclasses.is_dataclass(hint):
        cls: Any = hint
        hints = typing.get_type_hints(cls)
        fields = [(f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls)]
        return lambda v: cls(**{name: dec(v[name]) for name, dec in fields if name in v})
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if hint is datetime:
        return datetime.fromisoformat
    if hint is date:
        return date.fromisoformat
    return _same


def _optional(args: tuple[Any, ...]) -> Any:
    (inner,) = [a for a in args if a is not type(None)]  # CaseState has only Optional[X]
    return inner
