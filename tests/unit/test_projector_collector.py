"""The projector's garbage collection by hand: off while projecting, a full collection after
enough records or batches, and the collector as it was afterwards."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from projections import gc_by_hand
from projections.gc_by_hand import collecting_by_hand


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def _cycle() -> weakref.ref[_Node]:
    return weakref.ref(_Node())


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    (gc.enable if enabled else gc.disable)()


def test_no_automatic_collection_while_projecting_and_as_before_afterwards() -> None:
    gc.enable()
    with collecting_by_hand() as batch_done:
        assert not gc.isenabled()
        batch_done(10)
    assert gc.isenabled()
    gc.disable()
    with collecting_by_hand():
        pass
    assert not gc.isenabled()  # not switched on for a caller that had it off


def test_a_full_collection_after_enough_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gc_by_hand, "_COLLECT_RECORDS", 100)
    with collecting_by_hand() as batch_done:
        garbage = _cycle()
        batch_done(99)
        assert garbage() is not None  # not yet
        batch_done(1)
        assert garbage() is None
        again = _cycle()
        batch_done(99)  # the count starts over after a collection
        assert again() is not None


def test_a_full_collection_after_enough_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gc_by_hand, "_COLLECT_BATCHES", 3)
    with collecting_by_hand() as batch_done:
        garbage = _cycle()
        batch_done(0)
        batch_done(0)
        assert garbage() is not None
        batch_done(0)
        assert garbage() is None


def test_the_collector_is_restored_when_projecting_fails() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), collecting_by_hand():
        raise RuntimeError("a batch failed")
    assert gc.isenabled()
