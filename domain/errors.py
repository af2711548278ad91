"""Errors of the pure rules: questions the calendar, a policy or the reference data cannot answer.

A workflow *rejection* is not an exception (it is a ``Rejected`` value returned by ``decide``);
these are the cases where the rules themselves lack the facts to compute an answer.
"""

from __future__ import annotations

from schemas.errors import FengqiaoError

__all__ = [
    "CalendarGap",
    "CorruptStream",
    "InvalidCalendar",
    "NaiveInstant",
    "NoSlaLimit",
    "RulesError",
    "UnknownReference",
]


class RulesError(FengqiaoError):
    """Root of the errors raised by ``domain``."""


class CorruptStream(RulesError):
    """A canonical case stream that the lifecycle table cannot explain."""


class CalendarGap(RulesError, LookupError):
    """The working calendar does not know ``year``; a CalendarDefined for it must be published."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"the working calendar has no year {year}: publish a CalendarDefined event for {year} "
            "(its statutory holidays, make-up working days and working spans) to compute working time"
        )


class InvalidCalendar(RulesError, ValueError):
    """A calendar definition contradicts itself (spans overlap, a make-up day is a weekday, ...)."""


class NaiveInstant(RulesError, ValueError):
    """An instant without a time zone was given; the rules only take aware datetimes."""

    def __init__(self, what: str, value: object) -> None:
        self.what = what
        super().__init__(f"{what} must be an aware datetime (UTC in the log), got {value!r}")


class NoSlaLimit(RulesError, LookupError):
    """The SLA policy defines no limit for this stage and priority."""

    def __init__(self, policy_id: str, version: int, stage: str, priority: str) -> None:
        self.policy_id = policy_id
        self.version = version
        self.stage = stage
        self.priority = priority
        super().__init__(
            f"SLA policy {policy_id} v{version} has no limit for stage {stage!r} and priority "
            f"{priority!r}: publish a SlaPolicyDefined version that covers it"
        )


class UnknownReference(RulesError, LookupError):
    """A version recorded on an event (policy, calendar) is not in the reference view."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(
            f"the reference view has no {kind} {key!r}: fold the reference log up to the "
            f"definition that published it"
        )
