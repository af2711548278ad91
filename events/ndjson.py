"""Reading submissions from NDJSON files: one JSON object per line, ``event_type`` plus the
event's fields. Each line is parsed on its own, so one bad line is reported with its line
number and reason and never hides the others."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from events.errors import ContractError, InvalidEvent
from events.models import Event
from events.validation import parse_event


@dataclass(frozen=True)
class Line:
    """One line of the file: the event, or the error that stops it being one."""

    number: int
    event: Event | None
    error: ContractError | None


def read_ndjson(path: Path) -> Iterator[Line]:
    """Yield every non-blank line of ``path`` as an event or an error (never skips one)."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            yield _parse_line(number, raw)


def _parse_line(number: int, raw: bytes) -> Line:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        error = InvalidEvent(
            "?", f"line {number}", "utf8", f"invalid UTF-8 at byte {exc.start}: {exc.reason}"
        )
        return Line(number, None, error)
    try:
        obj: Any = json.loads(text.rstrip("\r\n"))  # positions then point into this line
    except json.JSONDecodeError as exc:
        error = InvalidEvent("?", f"line {number}", "json", f"not JSON: {exc}")
        return Line(number, None, error)
    try:
        return Line(number, parse_event(obj), None)
    except ContractError as exc:
        return Line(number, None, exc)


def count_lines(path: Path) -> int:
    """Non-blank lines in ``path`` (for progress totals)."""
    with path.open("rb") as handle:
        return sum(1 for raw in handle if raw.strip())
