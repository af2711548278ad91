"""A record that faust hands over while the worker's tables are being restored is never
decided: the worker ends uncommitted (``fatal``) so that it is decided again, in order, once
the tables are whole."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from processors import app as app_module


class Ended(Exception):
    """Stands for the end of the process, which ``fatal`` brings with ``os._exit``."""


def _stream(*offsets: int) -> Any:
    async def events() -> AsyncIterator[Any]:
        for offset in offsets:
            message = SimpleNamespace(
                topic="fq.case.inbox", partition=3, offset=offset, tp=("fq.case.inbox", 3)
            )
            yield SimpleNamespace(message=message)

    return SimpleNamespace(events=events)


def _run(
    in_recovery: bool, monkeypatch: pytest.MonkeyPatch, positions: dict[Any, int] | None = None
) -> tuple[list[int], list[tuple[str, BaseException]]]:
    handled: list[int] = []
    ended: list[tuple[str, BaseException]] = []

    def fatal(what: str, exc: BaseException) -> None:
        ended.append((what, exc))
        raise Ended

    async def handle(event: Any) -> None:
        handled.append(event.message.offset)

    monkeypatch.setattr(app_module, "fatal", fatal)
    agent = app_module._consume(
        SimpleNamespace(in_recovery=in_recovery),
        handle,
        "cases",
        {} if positions is None else positions,
    )
    try:
        asyncio.run(agent(_stream(7, 8)))
    except Ended:
        pass
    return handled, ended


def test_records_are_decided_when_no_table_is_being_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    positions: dict[Any, int] = {}
    handled, ended = _run(False, monkeypatch, positions)
    assert handled == [7, 8] and ended == []
    assert positions == {("fq.case.inbox", 3): 8}  # what the commit watch compares


def test_a_record_delivered_during_recovery_ends_the_worker_undecided(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handled, ended = _run(True, monkeypatch)
    assert handled == []
    ((what, exc),) = ended
    assert isinstance(exc, app_module.DeliveredDuringRecovery)
    assert "fq.case.inbox[3]@7" in what and "being restored" in what
