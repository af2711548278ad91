"""Garbage collection by hand while the projector folds and writes its batches."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["collecting_by_hand"]

# Between full garbage collections (see collecting_by_hand): about 0.3 s each with a
# full case cache, so rarely; live batches are small, hence the batch count as well.
_COLLECT_RECORDS = 1_000_000
_COLLECT_BATCHES = 5_000


@contextmanager
def collecting_by_hand() -> Iterator[Callable[[int], None]]:
    """No automatic garbage collection while projecting: a full one after every
    ``_COLLECT_RECORDS`` records or ``_COLLECT_BATCHES`` batches (call the function yielded
    with each batch's record count); as before afterwards.

    Records and rows of a batch are trees that reference counting frees on its own (a
    million-event replay leaves about a thousand objects in cycles), but the automatic
    collector walked every young one, and the cases held between batches, again and again:
    11% of a replay's time. What is alive at the start is frozen out of collection.
    """
    was_enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    records = batches = 0

    def batch_done(n: int) -> None:
        nonlocal records, batches
        records, batches = records + n, batches + 1
        if records >= _COLLECT_RECORDS or batches >= _COLLECT_BATCHES:
            gc.collect()
            records = batches = 0

    try:
        yield batch_done
    finally:
        if was_enabled:
            gc.enable()
        gc.unfreeze()
