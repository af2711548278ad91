"""The rules of one case's page, pure: whether a viewer may see the case, which steps of its
trace were posted late, and each deadline's status (``domain.case_fold`` states it once)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from domain.deadline_rows import DeadlineRow, deadline_status
from projections.panels.scope import CHAIN_COLUMN, Scope

__all__ = ["DEADLINE_COLUMNS", "LATE_POST", "case_in_scope", "deadline_state", "late_post"]

# A step recorded this long after it happened was posted late (补录): departments' systems
# post in batches hours later, while the others' steps are recorded as they happen.
LATE_POST = timedelta(hours=1)
DEADLINE_COLUMNS = tuple(f.name for f in fields(DeadlineRow))


def late_post(event_time: datetime, recorded_time: datetime) -> bool:
    """Whether the platform learned of a step more than ``LATE_POST`` after it happened."""
    return recorded_time - event_time > LATE_POST


def case_in_scope(case: Mapping[str, Any], departments: Collection[str], scope: Scope) -> bool:
    """Whether a viewer of ``scope`` may see the case: its place at report time (the chain
    columns of ``cases``) lies in the scope's place, and its department now, or one that held
    one of its deadlines (``departments``), is the scope's department."""
    if scope.place is not None:
        column = CHAIN_COLUMN[scope.place.level]
        if case.get(column) != scope.place.code:
            return False
    if scope.department is not None:
        held = {case.get("department_code"), *departments}
        if scope.department not in held:
            return False
    return True


def deadline_state(row: Mapping[str, Any]) -> str:
    """open, warned, breached, paused, met or cancelled, for a row of ``deadlines``."""
    return deadline_status(DeadlineRow(**{c: row[c] for c in DEADLINE_COLUMNS}))
