"""The long-running processes' collector policy: start-up's garbage collected, what remains
frozen out of collection, the young generation collected every 50,000 new objects."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from events.collector import YOUNG_OBJECTS, freeze_start_up


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def _collectable(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())  # frozen objects are in no generation


def test_the_young_generation_is_collected_every_50000_objects_and_the_older_are_kept() -> None:
    gc.set_threshold(700, 13, 17)
    freeze_start_up()
    assert YOUNG_OBJECTS == 50_000
    assert gc.get_threshold() == (50_000, 13, 17)


def test_the_older_thresholds_are_set_when_given() -> None:
    freeze_start_up(1_000, (50, 100))
    assert gc.get_threshold() == (1_000, 50, 100)


def test_what_start_up_made_is_frozen_and_its_garbage_collected_rather_than_frozen() -> None:
    kept = [_Node()]
    garbage = weakref.ref(_Node())
    assert _collectable(kept)
    freeze_start_up()
    assert garbage() is None
    assert not _collectable(kept)
    assert gc.get_freeze_count() > 0
    made_after = [_Node()]
    assert _collectable(made_after)
