"""A file of sample submissions, each with the answer it expects.

A file is either NDJSON (one JSON object per line; blank lines ignored) or one JSON array of
objects; its first character that is not white space tells which (``[`` is an array). Each
object is the body an integrator would POST to ``/v1/events``, plus, beside the event's
fields, an optional ``"expect"``:

- ``"accepted"`` (the default): the workflow appends it to its canonical log;
- ``"rejected"`` or ``"rejected:<CODE>"``: the workflow refuses it (with that code);
- ``"invalid"`` or ``"invalid:<field>"``: the gateway answers 422 (naming that field, dotted
  as in its ``errors``, e.g. ``envelope.event_time``);
- ``"forbidden"`` or ``"forbidden:<scope>"``: the gateway answers 403 (the credential's
  ``event_types``, ``departments`` or ``districts`` scope refused it).

A file that is not one of these forms is refused whole, naming the line at fault.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from events.errors import FengqiaoError

__all__ = ["Expectation", "Kind", "Sample", "SampleFileError", "parse_expectation", "read_samples"]

EXPECT = "expect"


class Kind(StrEnum):
    """What became of a submission."""

    accepted = "accepted"
    rejected = "rejected"
    invalid = "invalid"
    forbidden = "forbidden"


@dataclass(frozen=True)
class Expectation:
    """The answer a sample expects: its kind and, optionally, the code, field or scope."""

    kind: Kind
    detail: str | None = None

    def __str__(self) -> str:
        return self.kind if self.detail is None else f"{self.kind}:{self.detail}"


ACCEPTED = Expectation(Kind.accepted)


def parse_expectation(text: object) -> Expectation:
    """``"accepted"``, ``"rejected:CODE"``, ``"invalid:field"``, ``"forbidden:scope"``...

    Raises:
        ValueError: the text is not one of these.
    """
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False)  # refused below, shown as written
    kind, colon, detail = text.partition(":")
    if kind not in Kind.__members__ or (kind == Kind.accepted and detail):
        raise ValueError(
            f"expect {text!r} is not one of: accepted, rejected[:CODE], invalid[:field], "
            "forbidden[:scope]"
        )
    if colon and not detail:
        raise ValueError(f"expect {text!r} names nothing after the colon")
    return Expectation(Kind(kind), detail or None)


@dataclass(frozen=True)
class Sample:
    """One submission of the file: where it is, its body and the answer it expects."""

    where: str  # "line 3" of NDJSON, "item 3" of an array (counted from 1)
    body: Any
    expect: Expectation

    @property
    def event_type(self) -> str:
        found = self.body.get("event_type") if isinstance(self.body, dict) else None
        return found if isinstance(found, str) else "?"

    @property
    def event_id(self) -> str | None:
        envelope = self.body.get("envelope") if isinstance(self.body, dict) else None
        found = envelope.get("event_id") if isinstance(envelope, dict) else None
        return found if isinstance(found, str) else None


class SampleFileError(FengqiaoError):
    """The file of samples cannot be read: which line and why."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where, self.reason = where, reason


def read_samples(raw: bytes) -> list[Sample]:
    """The samples of a file's bytes, in order.

    Raises:
        SampleFileError: invalid UTF-8, JSON that does not parse (with its line), an array
            that is not the whole file, a bad ``expect``, or no sample at all.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SampleFileError(f"line {line}", f"invalid UTF-8: {exc.reason}") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        samples = _array(text)
    else:
        samples = [
            _sample(f"line {number}", _json(line, number))
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip()
        ]
    if not samples:
        raise SampleFileError("line 1", "no samples: give NDJSON lines or a JSON array")
    return samples


def _json(line: str, number: int) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise SampleFileError(
            f"line {number}", f"not JSON: {exc.msg} (column {exc.colno})"
        ) from None


def _array(text: str) -> list[Sample]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"not JSON: {exc.msg} (column {exc.colno})"
        raise SampleFileError(f"line {exc.lineno}", reason) from None
    return [_sample(f"item {n}", item) for n, item in enumerate(items, start=1)]


def _sample(where: str, obj: Any) -> Sample:
    if not isinstance(obj, dict) or EXPECT not in obj:
        return Sample(where, obj, ACCEPTED)
    body = dict(obj)
    try:
        expect = parse_expectation(body.pop(EXPECT))
    except ValueError as exc:
        raise SampleFileError(where, str(exc)) from None
    return Sample(where, body, expect)
