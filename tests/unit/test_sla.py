"""SLA arithmetic: deadlines per stage, warnings, pauses, extensions and lateness."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import SHANGHAI, calendar_from_definitions, working_hours_between
from domain.errors import NoSlaLimit
from domain.sla import (
    SlaLimit,
    SlaPolicy,
    Stage,
    extend_deadline,
    lateness_working_hours,
    schedule_deadline,
    shift_deadline_for_pause,
    shift_for_pause,
)
from processors.data import shipped_calendar_definitions

CAL = calendar_from_definitions(shipped_calendar_definitions())
POLICY = SlaPolicy(
    "sla.default",
    3,
    {
        ("claim", "normal"): SlaLimit(8, 2),
        ("handle", "normal"): SlaLimit(40, 8),
        ("verify", "normal"): SlaLimit(16, 0),
        ("claim", "urgent"): SlaLimit(2, 4),  # warn_before longer than the limit
    },
)


def sh(*args: int) -> datetime:
    """An Asia/Shanghai wall-clock time as an aware UTC instant."""
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)  # type: ignore[misc]


def test_schedule_records_versions_and_warns_before_the_due_time() -> None:
    deadline = schedule_deadline(POLICY, CAL, Stage.CLAIM, "normal", sh(2025, 3, 7, 16, 0))
    assert deadline.due_time == sh(2025, 3, 10, 16, 30)
    assert deadline.warn_time == sh(2025, 3, 10, 14, 30)
    assert (deadline.policy_id, deadline.policy_version) == ("sla.default", 3)
    assert deadline.calendar_version == "2025.1"
    assert deadline.working_hours == 8


def test_no_warning_when_the_policy_asks_for_none_and_warning_never_before_the_start() -> None:
    start = sh(2025, 3, 7, 9, 0)
    assert schedule_deadline(POLICY, CAL, "verify", "normal", start).warn_time is None
    assert schedule_deadline(POLICY, CAL, "claim", "urgent", start).warn_time == start


def test_a_deadline_across_the_new_year_records_both_calendar_versions() -> None:
    deadline = schedule_deadline(POLICY, CAL, "handle", "normal", sh(2025, 12, 29, 9, 0))
    assert deadline.calendar_version == "2025.1+2026.1"


def test_a_missing_limit_names_the_policy_stage_and_priority() -> None:
    with pytest.raises(NoSlaLimit, match="sla.default v3 .* 'handle' .* 'critical'"):
        schedule_deadline(POLICY, CAL, "handle", "critical", sh(2025, 3, 7, 9, 0))


def test_a_pause_moves_the_due_time_by_the_working_hours_suspended() -> None:
    due = sh(2025, 3, 12, 10, 0)
    # suspended Friday 16:00, resumed Monday 10:00: 1.5 + 1.5 working hours
    shifted = shift_for_pause(CAL, due, sh(2025, 3, 7, 16, 0), sh(2025, 3, 10, 10, 0))
    assert working_hours_between(CAL, due, shifted) == 3
    assert shifted == sh(2025, 3, 12, 14, 30)
    # a pause over a weekend only costs nothing
    assert shift_for_pause(CAL, due, sh(2025, 3, 7, 18, 0), sh(2025, 3, 10, 8, 0)) == due


def test_shifting_a_deadline_moves_warn_and_due_together() -> None:
    deadline = schedule_deadline(POLICY, CAL, "handle", "normal", sh(2025, 3, 3, 9, 0))
    shifted = shift_deadline_for_pause(CAL, deadline, sh(2025, 3, 4, 9, 0), sh(2025, 3, 5, 9, 0))
    assert working_hours_between(CAL, deadline.due_time, shifted.due_time) == 7.5
    assert deadline.warn_time is not None and shifted.warn_time is not None
    assert working_hours_between(CAL, deadline.warn_time, shifted.warn_time) == 7.5
    assert shifted.working_hours == deadline.working_hours


def test_an_extension_adds_working_hours() -> None:
    deadline = schedule_deadline(POLICY, CAL, "handle", "normal", sh(2025, 3, 3, 9, 0))
    longer = extend_deadline(CAL, deadline, 16)
    assert longer.working_hours == 56
    assert working_hours_between(CAL, deadline.due_time, longer.due_time) == 16
    assert longer.warn_time is not None
    assert working_hours_between(CAL, longer.warn_time, longer.due_time) == 8
    with pytest.raises(ValueError, match="must add"):
        extend_deadline(CAL, deadline, 0)


def test_lateness_in_working_hours() -> None:
    due = sh(2025, 9, 30, 16, 30)
    assert lateness_working_hours(CAL, due, sh(2025, 10, 9, 9, 30)) == 2  # over National Day
    assert lateness_working_hours(CAL, due, sh(2025, 9, 30, 15, 30)) == -1


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SlaLimit(0, 1)
    with pytest.raises(ValueError):
        SlaLimit(8, -1)


@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 6, 30)).map(
        lambda t: t.replace(tzinfo=SHANGHAI).astimezone(UTC)
    ),
    st.sampled_from(sorted(POLICY.limits)),
)
def test_the_due_time_is_always_the_limit_away_in_working_time(
    start: datetime, key: tuple[str, str]
) -> None:
    deadline = schedule_deadline(POLICY, CAL, key[0], key[1], start)
    assert working_hours_between(CAL, start, deadline.due_time) == deadline.working_hours
    if deadline.warn_time is not None:
        assert start <= deadline.warn_time <= deadline.due_time
