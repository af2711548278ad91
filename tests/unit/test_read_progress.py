"""The rule a read up to an end offset follows: complete only at the end however long it
takes, reported while it takes long, stalled only when its position stands still."""

from __future__ import annotations

from projections.read_progress import STALL_S, ReadProgress


def test_a_read_is_complete_at_its_end_and_never_because_time_ran_out() -> None:
    read = ReadProgress(0, 1082, now=0.0)
    for second in range(1, 1000):
        read.reached(second, float(second))  # one record a second: slow, never stalled
        assert not read.complete and not read.stalled(float(second))
    assert read.reached(1082, 1000.0) == 83
    assert read.complete and not read.stalled(1e9)


def test_an_empty_read_is_complete_at_once() -> None:
    read = ReadProgress(7, 7, now=0.0, report_every_s=0.0, stall_s=0.0)
    assert read.complete and not read.report_due(0.0) and not read.stalled(0.0)


def test_a_read_stalls_only_after_standing_still_for_the_stall_time() -> None:
    read = ReadProgress(0, 10, now=0.0)
    assert not read.stalled(STALL_S - 1)
    assert read.reached(3, STALL_S - 1) == 3
    assert not read.stalled(2 * STALL_S - 2)
    assert read.reached(3, 2 * STALL_S - 1) == 0  # the same position is no progress
    assert read.reached(2, 2 * STALL_S - 1) == 0  # nor is an older one
    assert read.stalled(2 * STALL_S - 1) and read.position == 3


def test_a_slow_read_is_reported_once_per_interval_until_complete() -> None:
    read = ReadProgress(0, 10, now=100.0, report_every_s=10.0)
    assert not read.report_due(105.0)
    assert read.report_due(110.0) and not read.report_due(115.0)
    read.reached(5, 115.0)  # progress does not hold the next report back
    assert read.report_due(120.0) and read.reports == 2
    read.reached(10, 121.0)
    assert not read.report_due(200.0) and read.reports == 2


def test_a_read_with_no_patience_reports_before_its_first_fetch() -> None:
    read = ReadProgress(0, 10, now=0.0, report_every_s=0.0)
    assert read.report_due(0.0) and read.report_due(0.0) and read.reports == 2
