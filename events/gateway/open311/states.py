"""The state of the cases Open311 requests became, as a ``GET requests`` reads it.

The read models belong to ``projections``, which ``events`` does not import: the gateway's
entry point passes in a ``CaseStates`` (``projections.open311_states.ProjectedCaseStates``
reads them from the active projection). A case not in the read models yet is missing from
the answer, and reads as a request just filed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["CaseState", "CaseStates", "NoCaseStates"]


@dataclass(frozen=True)
class CaseState:
    """What Open311 shows of a case: its status, department, last change and deadline."""

    case_id: str
    status: str  # the workflow's status: reported, accepted, ..., closed
    department_code: str | None
    updated_at: datetime
    expected_at: datetime | None  # the due time of its deadline still running, or its last


class CaseStates(Protocol):
    """The states of the cases of ``case_ids`` that the read models hold."""

    def __call__(self, case_ids: Sequence[str]) -> Mapping[str, CaseState]: ...

    def close(self) -> None:
        """Release what the reader holds; called when the gateway stops."""


class NoCaseStates:
    """No read models: every request reads as just filed."""

    def __call__(self, case_ids: Sequence[str]) -> Mapping[str, CaseState]:
        return {}

    def close(self) -> None:
        return None
