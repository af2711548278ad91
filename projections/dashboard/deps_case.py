"""What a case's page and its JSON twin are asked for: a case id in the path or the query,
read by the viewer's scope, with the projection and its watch (for freshness)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Path, Request

from events.problems import Problem
from projections.dashboard.deps import Conn, ViewerScope, settings_of
from projections.dashboard.watch import Position, Watch
from projections.panels.scope import Scope

__all__ = ["Case", "CaseArgs", "CaseInPath", "case_args"]

_CASE_ID = re.compile(r"[\w.:-]{1,64}")  # an event's Id: at most 64 characters
# The same rule as the API document states it, so a client (or a fuzzer) reads it there.
CASE_ID_PATTERN = r"^[\w.:-]{1,64}$"


@dataclass(frozen=True)
class CaseArgs:
    """Which case, for whom, in which projection."""

    conn: psycopg.Connection[Any]
    projection: str
    scope: Scope
    case_id: str
    watch: Watch

    @property
    def position(self) -> Position:
        return self.watch.current


def case_args(request: Request, conn: Conn, scope: ViewerScope, case_id: str) -> CaseArgs:
    """The case asked for: ``case_id`` in the path where the route has it, else in the query.

    Raises:
        Problem: 422 when ``case_id`` is not an event id (1-64 letters, digits, ``.:_-``).
    """
    if not _CASE_ID.fullmatch(case_id):
        raise Problem(
            422,
            "invalid case id",
            f"case_id {case_id[:80]!r} is not a case id: 1-64 letters, digits, '.', ':', '_' or '-'",
            "case_id",
        )
    projection = settings_of(request).projection
    return CaseArgs(conn, projection, scope, case_id, request.app.state.watch)


Case = Annotated[CaseArgs, Depends(case_args)]


def case_in_path(
    request: Request,
    conn: Conn,
    scope: ViewerScope,
    case_id: Annotated[
        str,
        Path(
            pattern=CASE_ID_PATTERN,
            max_length=64,
            description="a case id: 1-64 letters, digits, '.', ':', '_' or '-'",
        ),
    ],
) -> CaseArgs:
    """``case_args`` for the JSON API, whose document states the case id's form."""
    return case_args(request, conn, scope, case_id)


CaseInPath = Annotated[CaseArgs, Depends(case_in_path)]
