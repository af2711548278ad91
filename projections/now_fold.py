"""The current state as counters: how many cases each place and department holds now, by
status, open and overdue (``unit_now``), moved by each case event as it happens.

A case stands in the district, street, village and grid it was reported in (the case row's
place codes, which never change) and in its current department, if it has one. Each event
that changes where a case stands (its status, its department, whether it is overdue) takes
it out of its old standing (-1) and puts it in the new one (+1), so the sums are the cases
as they are now, whatever the batches or the order of partitions. Pure: the batch fold calls
``now_moves`` with the case's row and deadlines before and after the event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from domain.case_fold import CaseRow
from domain.case_state import OPEN_STATUSES, Status
from domain.deadline_rows import DeadlineRow
from domain.stats_moves import Move, Unit, case_places

__all__ = ["NOW_COLUMNS", "STATUS_COLUMNS", "Standing", "is_overdue", "now_moves", "standing"]

STATUS_COLUMNS = {str(s): f"status_{s}" for s in Status}
NOW_COLUMNS = ("open", "overdue", *STATUS_COLUMNS.values())
_OPEN = frozenset(str(s) for s in OPEN_STATUSES)


class Standing(NamedTuple):
    """Where one case counts now: its units, its status, and whether it is open and overdue."""

    units: tuple[Unit, ...]
    status: str
    open: bool
    overdue: bool


def is_overdue(status: str, deadlines: Iterable[DeadlineRow]) -> bool:
    """An open case with a deadline breached and neither met nor cancelled (the overdue list's
    rule)."""
    return status in _OPEN and any(
        d.breached_at is not None and d.done_at is None and not d.cancelled for d in deadlines
    )


def standing(row: CaseRow, deadlines: Iterable[DeadlineRow]) -> Standing:
    units = case_places(row)
    if row.department_code:
        units = (*units, ("department", row.department_code))
    return Standing(units, row.status, row.status in _OPEN, is_overdue(row.status, deadlines))


def now_moves(before: Standing | None, after: Standing) -> list[Move]:
    """The counters of ``unit_now`` one event moves: -1 where the case stood, +1 where it
    stands, only what changed (nothing for an event that leaves it where it was)."""
    if before is None:
        return _whole(after, 1)
    if before == after:
        return []
    if before.units != after.units:  # a department change: out of one, into the other
        stay = tuple(u for u in after.units if u in before.units)
        gone = tuple(u for u in before.units if u not in after.units)
        new = tuple(u for u in after.units if u not in before.units)
        return [
            *_whole(before._replace(units=gone), -1),
            *_whole(after._replace(units=new), 1),
            *now_moves(before._replace(units=stay), after._replace(units=stay)),
        ]
    units = after.units
    moves: list[Move] = []
    if before.status != after.status:
        moves += [
            (units, STATUS_COLUMNS[before.status], -1),
            (units, STATUS_COLUMNS[after.status], 1),
        ]
    if before.open != after.open:
        moves.append((units, "open", 1 if after.open else -1))
    if before.overdue != after.overdue:
        moves.append((units, "overdue", 1 if after.overdue else -1))
    return moves


def _whole(s: Standing, sign: int) -> list[Move]:
    if not s.units:
        return []
    return [
        (s.units, STATUS_COLUMNS[s.status], sign),
        (s.units, "open", sign * s.open),
        (s.units, "overdue", sign * s.overdue),
    ]
