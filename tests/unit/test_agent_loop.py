"""The agent loop: a batch of records is decided, then written to the transaction of each
record's input partition with the offset after its last record. A record delivered again
(faust seeks back to the committed offset on a rebalance) is never decided twice, a record of
a partition this worker does not own is left to its owner, a record of a partition whose
tables are being restored waits for them, and a failure ends the worker uncommitted (``fatal``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from processors import app as app_module
from processors.outputs import Outgoing, Source
from processors.settings import WorkflowSettings
from processors.transactions import Owned, Skipped, Transactions

INBOX = "fq.case.inbox"


class Ended(Exception):
    """Stands for the end of the process, which ``fatal`` brings with ``os._exit``."""


def _stream(*batches: tuple[tuple[int, int], ...]) -> Any:
    """Batches of (partition, offset)."""
    asked: list[tuple[int, float]] = []

    async def take_events(most: int, within: float) -> AsyncIterator[list[Any]]:
        asked.append((most, within))
        for batch in batches:
            yield [
                SimpleNamespace(
                    message=SimpleNamespace(
                        topic=INBOX, partition=p, offset=o, key=b"k", value=b"v", timestamp=0.0
                    )
                )
                for p, o in batch
            ]

    return SimpleNamespace(take_events=take_events, asked=asked)


class _Transactions(Transactions):
    """Owns partitions 3 and 4 of the case inbox (3 from offset 7, 4 from offset 0), writes
    into a list."""

    def __init__(self, write_fails: bool = False) -> None:
        super().__init__(WorkflowSettings())
        self.write_fails = write_fails
        self.written: list[tuple[int, list[int], int]] = []  # partition, offsets, next offset
        for partition, offset in ((3, 7), (4, 0)):
            owned = self.owned[(INBOX, partition)] = Owned(INBOX, partition, next_offset=offset)
            owned.ready.set()

    async def write(self, owned: Owned, outgoing: Sequence[Outgoing], next_offset: int) -> bool:
        if self.write_fails:
            raise OSError("the broker went away")
        self.written.append((owned.partition, [int(o[2]) for o in outgoing], next_offset))
        return True


def _run(
    monkeypatch: pytest.MonkeyPatch,
    transactions: _Transactions,
    stream: Any,
    handle_fails: bool = False,
    before: Any = None,
) -> tuple[list[tuple[int, int]], list[tuple[str, BaseException]]]:
    handled: list[tuple[int, int]] = []
    ended: list[tuple[str, BaseException]] = []

    def fatal(what: str, exc: BaseException) -> None:
        ended.append((what, exc))
        raise Ended

    async def handle(message: Any) -> Source:
        if handle_fails:
            raise KeyError("a bug")
        handled.append((message.partition, message.offset))
        src = Source.of(message, "fq.case.inbox")
        src.send("fq.case.events", b"k", str(message.offset).encode())
        return src

    monkeypatch.setattr(app_module, "fatal", fatal)
    settings = SimpleNamespace(batch_records=256, batch_wait_ms=10)
    agent = app_module._consume(settings, handle, transactions, "cases")  # type: ignore[arg-type]

    async def run() -> None:
        if before is not None:
            await before()
        await agent(stream)

    try:
        asyncio.run(run())
    except Ended:
        pass
    return handled, ended


def test_a_batch_is_written_per_partition_with_the_offset_after_its_last_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    txns = _Transactions()
    stream = _stream(((3, 7), (4, 0), (3, 8)), ((3, 9),))
    handled, ended = _run(monkeypatch, txns, stream)
    assert handled == [(3, 7), (4, 0), (3, 8), (3, 9)] and ended == []
    assert txns.written == [(3, [7, 8], 9), (4, [0], 1), (3, [9], 10)]
    assert stream.asked == [(256, 0.01)]  # FQ_BATCH_RECORDS, FQ_BATCH_WAIT_MS in seconds


def test_a_record_delivered_again_is_not_decided_again(monkeypatch: pytest.MonkeyPatch) -> None:
    txns = _Transactions()
    # faust seeks back to the committed offset (7) after the batch was decided: 7 and 8 again
    stream = _stream(((3, 7), (3, 8)), ((3, 7), (3, 8), (3, 9)), ((3, 5),))
    handled, ended = _run(monkeypatch, txns, stream)
    assert handled == [(3, 7), (3, 8), (3, 9)] and ended == []
    assert txns.written == [(3, [7, 8], 9), (3, [9], 10)]


def test_a_record_of_a_partition_not_owned_is_left_to_its_owner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    txns = _Transactions()
    handled, ended = _run(
        monkeypatch,
        txns,
        _stream(
            ((5, 0), (3, 7)),
        ),
    )
    assert handled == [(3, 7)] and ended == []
    assert txns.written == [(3, [7], 8)]


def test_a_record_waits_until_its_partition_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    txns = _Transactions()
    owned = txns.owned[(INBOX, 4)]
    owned.ready.clear()
    order: list[str] = []

    async def restore_later() -> None:
        async def restored() -> None:
            await asyncio.sleep(0.05)
            order.append("restored")
            owned.ready.set()

        asyncio.get_running_loop().create_task(restored())

    handled, _ = _run(monkeypatch, txns, _stream(((4, 0),)), before=restore_later)
    assert order == ["restored"] and handled == [(4, 0)]


def test_a_record_of_a_partition_released_while_it_waited_is_not_decided(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    txns = _Transactions()
    owned = txns.owned[(INBOX, 4)]
    owned.ready.clear()

    async def release_later() -> None:
        async def released() -> None:
            await asyncio.sleep(0.05)
            del txns.owned[(INBOX, 4)]
            owned.ready.set()

        asyncio.get_running_loop().create_task(released())

    handled, ended = _run(monkeypatch, txns, _stream(((4, 0),)), before=release_later)
    assert handled == [] and ended == [] and txns.written == []


def test_a_write_that_fails_ends_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    handled, ended = _run(monkeypatch, _Transactions(write_fails=True), _stream(((3, 7), (3, 8))))
    assert handled == [(3, 7), (3, 8)]
    ((what, exc),) = ended
    assert isinstance(exc, OSError)
    assert "writing 2 records from fq.case.inbox[3]@7" in what


def test_a_handler_that_raises_ends_the_worker_with_nothing_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    txns = _Transactions()
    _, ended = _run(monkeypatch, txns, _stream(((3, 7),)), handle_fails=True)
    ((what, exc),) = ended
    assert isinstance(exc, KeyError) and "processing fq.case.inbox[3]@7" in what
    assert txns.written == []


def test_offsets_admitted_in_order_from_the_committed_one() -> None:
    owned = Owned(INBOX, 3, next_offset=240)
    assert [Transactions.admit(owned, o) for o in (240, 241, 239, 241, 242)] == [
        True,
        True,
        False,  # below: committed before
        False,  # decided already, in the open transaction
        True,
    ]
    assert Transactions.admit(owned, 246) == Skipped(243, 246)  # 243..245 never delivered
    assert Transactions.admit(owned, 247) is True  # reported once, at the record after it
