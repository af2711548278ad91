"""The batch writer: one batch in flight, in order, its failures raised and final."""

from __future__ import annotations

import threading

import pytest

from projections.batch_writer import BatchWriter
from projections.errors import ProjectionError


class Recorder:
    """A write that records what it was given, can be held, and fails on chosen batches."""

    def __init__(self, failing: frozenset[int] = frozenset()) -> None:
        self.written: list[int] = []
        self.failing = failing
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()

    def __call__(self, batch: int) -> None:
        self.started.set()
        assert self.release.wait(10)
        if batch in self.failing:
            raise RuntimeError(f"batch {batch} refused")
        self.written.append(batch)


def test_batches_are_written_in_order_and_reported_once_committed() -> None:
    write = Recorder()
    writer: BatchWriter[int] = BatchWriter(write)
    reported = [*writer.submit(1), *writer.submit(2), *writer.submit(3), *writer.drain()]
    assert reported == [1, 2, 3] == write.written
    assert writer.drain() == [] and not writer.busy
    writer.close()


def test_the_next_batch_is_folded_while_the_last_is_written() -> None:
    write = Recorder()
    write.release.clear()
    writer: BatchWriter[int] = BatchWriter(write)
    assert writer.submit(1) == []  # returns at once: the write is held
    assert write.started.wait(10) and writer.busy and write.written == []
    write.release.set()
    assert writer.drain() == [1] and write.written == [1]
    writer.close()


def test_a_failed_write_is_raised_and_nothing_after_it_is_written() -> None:
    write = Recorder(failing=frozenset({2}))
    writer: BatchWriter[int] = BatchWriter(write)
    writer.submit(1)
    writer.submit(2)
    with pytest.raises(RuntimeError, match="batch 2 refused"):
        writer.submit(3)  # the failure of 2 surfaces before 3 is handed over
    with pytest.raises(ProjectionError, match="takes no more") as later:
        writer.submit(4)
    assert isinstance(later.value.__cause__, RuntimeError)
    with pytest.raises(ProjectionError, match="takes no more"):
        writer.drain()
    writer.close()
    assert write.written == [1]


def test_close_waits_for_the_batch_in_flight_and_returns_its_failure() -> None:
    write = Recorder(failing=frozenset({2}))
    writer: BatchWriter[int] = BatchWriter(write)
    writer.submit(1)
    write.release.clear()
    writer.submit(2)
    threading.Timer(0.05, write.release.set).start()
    failure = writer.close()
    assert isinstance(failure, RuntimeError) and write.written == [1]
    with pytest.raises(ProjectionError):
        writer.submit(3)


def test_a_closed_writer_takes_no_batch() -> None:
    write = Recorder()
    writer: BatchWriter[int] = BatchWriter(write)
    writer.submit(1)
    assert writer.close() is None and write.written == [1]
    with pytest.raises(ProjectionError, match="closed"):
        writer.submit(2)
    assert write.written == [1]
