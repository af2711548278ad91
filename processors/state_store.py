"""What the workflow keeps in its tables, and how it is written there.

Per case (table ``cases``): a ``CaseRecord``, as JSON. Per grid (``visit_grids``): the last
sequence of its visit stream (``GridVisits``). Per visit submission answered (``visits``, by
event id) and per reference submission refused (``reference_answers``, by event id): its first
``Answer``, so that the same event id sent again, however much later, gets that answer as a
duplicate (accepted reference submissions are answered from the reference view, which holds
the sequence of every event id on the reference log).

A ``CaseRecord`` is the ``CaseState`` that ``decide`` needs (with the sequence of every event
id the case has), the inbox partition the case lives on (where the deadline trigger submits
its signals), how many canonical events each accepted submission became when it became more
than one, and the code and message of every submission to the case that was refused: a
submission sent again (a retry) must get its first answer, not a new one decided against what
later submissions did to the case. A case holds tens of events, so its record stays small.

The JSON is our own, not a faust record and not Avro: the table is private to the workflow,
rebuilt from its changelog topic, and carries no contract. It is derived from the dataclass
fields of ``CaseState`` (enums by value, instants in ISO 8601 with their offset, tuples as
lists), so a field the pure core adds with a default needs no change here; a record written
before the field existed decodes with the default. Records of format 1 (which kept the last 16
canonical events and rejections byte for byte) still load: the events' counts are taken from
them; their rejections' bytes are not read (a submission refused before the upgrade and sent
again is decided again).
"""

from __future__ import annotations

import dataclasses
import enum
import struct
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

import orjson

from domain.case_state import CaseState

__all__ = [
    "Answer",
    "CaseRecord",
    "GridVisits",
    "dumps",
    "dumps_answer",
    "dumps_grid",
    "loads",
    "loads_answer",
    "loads_grid",
]

FORMAT = 2
_FORMATS = (1, FORMAT)


@dataclass(frozen=True)
class Answer:
    """The first answer to a submission: accepted as canonical sequence ``sequence``, the first
    of ``events`` canonical events; or refused with ``code`` and ``message``."""

    sequence: int | None = None
    events: int = 0
    code: str | None = None
    message: str | None = None

    @property
    def accepted(self) -> bool:
        return self.code is None


@dataclass(frozen=True)
class CaseRecord:
    """The table value of one case."""

    state: CaseState
    partition: int
    # accepted submissions that became more than one canonical event: event id -> how many
    events: Mapping[str, int] = field(default_factory=dict)
    # refused submissions: event id -> (code, message)
    refused: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def accepted(self, state: CaseState, submission_id: str, events: int) -> CaseRecord:
        """The record once a submission, accepted as ``events`` canonical events, took the
        case to ``state``."""
        counts = self.events if events == 1 else {**self.events, submission_id: events}
        return CaseRecord(state, self.partition, counts, self.refused)

    def refusing(self, submission_id: str, code: str, message: str) -> CaseRecord:
        """The record once a submission to the case was refused."""
        refused = {**self.refused, submission_id: (code, message)}
        return CaseRecord(self.state, self.partition, self.events, refused)

    def answer_of(self, submission_id: str) -> Answer | None:
        """The first answer to that submission, if the case has answered it."""
        refused = self.refused.get(submission_id)
        if refused is not None:
            return Answer(code=refused[0], message=refused[1])
        sequence = self.state.seen.get(submission_id)
        if sequence is None:
            return None
        return Answer(sequence, self.events.get(submission_id, 1))


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
        "events": record.events,
        "refused": record.refused,
    }
    return orjson.dumps(payload)


def loads(data: bytes) -> CaseRecord:
    """The record ``dumps`` wrote (or a record of format 1). Raises ``ValueError`` for
    anything else."""
    payload = orjson.loads(data)
    if not isinstance(payload, dict) or payload.get("v") not in _FORMATS:
        raise ValueError(f"not a case record of format {FORMAT}")
    if payload["v"] == 1:
        events, refused = _format_1_counts(payload.get("recent", ())), {}
    else:
        events = {str(k): int(n) for k, n in payload["events"].items()}
        refused = {str(k): (str(c), str(m)) for k, (c, m) in payload["refused"].items()}
    return CaseRecord(
        state=_decoder(CaseState)(payload["state"]),
        partition=int(payload["p"]),
        events=events,
        refused=refused,
    )


def _format_1_counts(recent: list[list[Any]]) -> dict[str, int]:
    """The counts of the submissions whose events a format-1 record still held."""
    counts: dict[str, int] = {}
    for _, submission_id, _ in recent:
        counts[str(submission_id)] = counts.get(str(submission_id), 0) + 1
    return {k: n for k, n in counts.items() if n > 1}


def dumps_grid(grid: GridVisits) -> bytes:
    return orjson.dumps({"v": FORMAT, "p": grid.partition, "seq": grid.sequence})


def loads_grid(data: bytes) -> GridVisits:
    payload = orjson.loads(data)
    return GridVisits(partition=int(payload["p"]), sequence=int(payload["seq"]))


_ANSWER = b"\x01"
_SEQ = struct.Struct(">q")


def dumps_answer(answer: Answer) -> bytes:
    """An answer, for the tables by event id: a marker byte, then compact JSON."""
    if answer.accepted:
        return _ANSWER + orjson.dumps([answer.sequence, answer.events])
    return _ANSWER + orjson.dumps([answer.code, answer.message])


def loads_answer(data: bytes) -> Answer:
    """The answer ``dumps_answer`` wrote, or what format 1 of the visits table held: the
    sequence (8 bytes, big-endian, so its first byte is 0) and the canonical event's bytes."""
    if data[:1] != _ANSWER:
        return Answer(_SEQ.unpack_from(data)[0], 1)
    first, second = orjson.loads(data[1:])
    if isinstance(first, int):
        return Answer(first, int(second))
    return Answer(code=str(first), message=str(second))


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
