"""The agent loop: a batch of records is decided, then written in one go, then counted as
handled. A record that faust hands over while the worker's tables are being restored is never
decided, and a write that fails is never counted: the worker ends uncommitted (``fatal``) so
that the records are decided again, in order, once the tables are whole."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from processors import app as app_module
from processors.delivery_guard import DeliveryGuard


class Ended(Exception):
    """Stands for the end of the process, which ``fatal`` brings with ``os._exit``."""


def _stream(*batches: tuple[int, ...]) -> Any:
    asked: list[tuple[int, float]] = []

    async def take_events(most: int, within: float) -> AsyncIterator[list[Any]]:
        asked.append((most, within))
        for offsets in batches:
            yield [
                SimpleNamespace(
                    message=SimpleNamespace(
                        topic="fq.case.inbox", partition=3, offset=o, tp=("fq.case.inbox", 3)
                    )
                )
                for o in offsets
            ]

    return SimpleNamespace(take_events=take_events, asked=asked)


class _Writer:
    def __init__(self, fails: bool) -> None:
        self.fails = fails
        self.written: list[list[int]] = []

    async def write(self, sources: list[int]) -> None:
        if self.fails:
            raise OSError("the broker went away")
        self.written.append(sources)


def _run(
    in_recovery: bool,
    monkeypatch: pytest.MonkeyPatch,
    positions: dict[Any, int] | None = None,
    write_fails: bool = False,
) -> tuple[list[int], _Writer, list[tuple[str, BaseException]], Any]:
    handled: list[int] = []
    ended: list[tuple[str, BaseException]] = []

    def fatal(what: str, exc: BaseException) -> None:
        ended.append((what, exc))
        raise Ended

    async def handle(event: Any) -> int:
        handled.append(event.message.offset)
        return int(event.message.offset)  # stands for the record's Source

    monkeypatch.setattr(app_module, "fatal", fatal)
    writer = _Writer(write_fails)
    settings = SimpleNamespace(batch_records=256, batch_wait_ms=10)
    agent = app_module._consume(
        SimpleNamespace(in_recovery=in_recovery),
        settings,
        handle,
        writer,
        "cases",
        {} if positions is None else positions,
        DeliveryGuard(lambda tp: 7),  # the records come in order from the committed offset
    )
    stream = _stream((7, 8), (9,))
    try:
        asyncio.run(agent(stream))
    except Ended:
        pass
    return handled, writer, ended, stream


def test_records_are_decided_when_no_table_is_being_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    positions: dict[Any, int] = {}
    handled, writer, ended, stream = _run(False, monkeypatch, positions)
    assert handled == [7, 8, 9] and ended == []
    assert writer.written == [[7, 8], [9]]  # a batch at a time, in order
    assert stream.asked == [(256, 0.01)]  # FQ_BATCH_RECORDS, FQ_BATCH_WAIT_MS in seconds
    assert positions == {("fq.case.inbox", 3): 9}  # what the commit watch compares


def test_a_write_that_fails_ends_the_worker_with_nothing_counted_as_handled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    positions: dict[Any, int] = {}
    handled, writer, ended, _ = _run(False, monkeypatch, positions, write_fails=True)
    assert handled == [7, 8] and writer.written == []
    ((what, exc),) = ended
    assert isinstance(exc, OSError)
    assert "writing 2 records from fq.case.inbox[3]@7" in what
    assert positions == {}


def test_a_record_delivered_during_recovery_ends_the_worker_undecided(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handled, writer, ended, _ = _run(True, monkeypatch)
    assert handled == [] and writer.written == []
    ((what, exc),) = ended
    assert isinstance(exc, app_module.DeliveredDuringRecovery)
    assert "fq.case.inbox[3]@7" in what and "being restored" in what
