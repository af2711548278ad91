"""Which simulated day a demo's live run starts on: today, or after the last one run live."""

from __future__ import annotations

from datetime import date

from infra.cli_demo import next_live_day

TODAY = date(2026, 12, 6)


def test_a_first_live_run_starts_today() -> None:
    assert next_live_day([], TODAY) == TODAY


def test_a_later_run_starts_after_the_last_day_run_live() -> None:
    assert next_live_day(["2026-12-06", "2026-12-08", "2026-12-07"], TODAY) == date(2026, 12, 9)


def test_days_run_live_before_today_are_behind_us() -> None:
    assert next_live_day(["2026-11-30", "2026-12-01"], TODAY) == TODAY
