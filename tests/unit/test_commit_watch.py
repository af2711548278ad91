"""A worker whose commits stand still behind what it has decided is noticed; one whose commits
move, however far behind under load, is not."""

from __future__ import annotations

from processors.commit_watch import CommitWatch

A, B = ("fq.case.inbox", 0), ("fq.visit.inbox", 5)


def test_commits_that_catch_up_are_never_a_stall() -> None:
    watch: CommitWatch[tuple[str, int]] = CommitWatch(limit_s=60)
    for t in range(0, 600, 10):
        assert watch.stalled({A: t + 5}, {A: t + 5}, now=float(t)) == []


def test_commits_that_move_but_stay_behind_are_not_a_stall() -> None:
    watch: CommitWatch[tuple[str, int]] = CommitWatch(limit_s=60)
    for t in range(0, 600, 10):
        assert watch.stalled({A: 1000 + t}, {A: t}, now=float(t)) == []


def test_a_committed_offset_standing_still_behind_a_handled_record_is_a_stall() -> None:
    watch: CommitWatch[tuple[str, int]] = CommitWatch(limit_s=60)
    assert watch.stalled({A: 120, B: 7}, {A: 100, B: 7}, now=0.0) == []
    assert watch.stalled({A: 130, B: 7}, {A: 100, B: 7}, now=59.0) == []
    assert watch.stalled({A: 140, B: 7}, {A: 100, B: 7}, now=61.0) == [A]


def test_a_partition_that_never_committed_stalls_after_the_limit() -> None:
    watch: CommitWatch[tuple[str, int]] = CommitWatch(limit_s=30)
    assert watch.stalled({A: 3}, {}, now=0.0) == []
    assert watch.stalled({A: 9}, {A: None}, now=31.0) == [A]


def test_a_revoked_partition_is_forgotten() -> None:
    watch: CommitWatch[tuple[str, int]] = CommitWatch(limit_s=30)
    watch.stalled({A: 3}, {A: 1}, now=0.0)
    assert watch.stalled({}, {A: 1}, now=100.0) == []
    assert watch.stalled({A: 3}, {A: 1}, now=101.0) == []  # its clock starts again
