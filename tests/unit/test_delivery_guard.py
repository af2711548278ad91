"""The delivery guard's bookkeeping: which offsets of a partition an agent was never given."""

from __future__ import annotations

from processors.delivery_guard import DeliveryGuard

TP = ("fq.case.inbox", 3)


def test_records_in_order_from_the_committed_offset_leave_no_hole() -> None:
    guard = DeliveryGuard(lambda tp: 240)
    assert [guard.hole(TP, o) for o in (240, 241, 242)] == [None, None, None]


def test_a_first_record_past_the_committed_offset_is_a_hole() -> None:
    guard = DeliveryGuard(lambda tp: 240)
    assert guard.hole(TP, 241) == (240, 241)
    assert guard.hole(TP, 242) is None  # the hole is reported once, at the record after it


def test_a_jump_between_two_records_is_a_hole() -> None:
    guard = DeliveryGuard(lambda tp: None)
    assert guard.hole(TP, 10) is None  # nothing committed: the first record sets the pace
    assert guard.hole(TP, 11) is None
    assert guard.hole(TP, 14) == (12, 14)


def test_a_record_delivered_again_is_no_hole_and_resets_the_pace() -> None:
    guard = DeliveryGuard(lambda tp: 5)
    assert [guard.hole(TP, o) for o in (5, 6, 7, 5, 6, 7, 8)] == [None] * 7


def test_a_revoked_partition_starts_again_from_its_committed_offset() -> None:
    committed = {TP: 7}
    guard = DeliveryGuard(committed.get)
    assert guard.hole(TP, 7) is None
    committed[TP] = 20
    guard.forget(TP)
    assert guard.hole(TP, 22) == (20, 22)
    assert guard.hole(("fq.visit.inbox", 3), 1) is None  # partitions are apart
