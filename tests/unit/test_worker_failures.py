"""A worker ends itself, uncommitted, when it cannot take a partition, when a commit fails,
and when decided records have waited too long for their transaction to commit."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from processors import app as app_module
from processors.settings import WorkflowSettings
from processors.transactions import Owned, TransactionFailed


class Ended(Exception):
    """Stands for the end of the process, which ``fatal`` brings with ``os._exit``."""


def _ending(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, BaseException]]:
    ended: list[tuple[str, BaseException]] = []

    def fatal(what: str, exc: BaseException) -> None:
        ended.append((what, exc))
        raise Ended

    monkeypatch.setattr(app_module, "fatal", fatal)
    return ended


def _run(coroutine: Any) -> None:
    try:
        asyncio.run(coroutine)
    except Ended:
        pass


def test_a_partition_that_cannot_be_taken_ends_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    ended = _ending(monkeypatch)
    worker = app_module.create_app(WorkflowSettings())

    async def start(owned: Owned, restore: Any) -> bool:
        raise TransactionFailed("init the transaction of fq.case.inbox[3]: timed out")

    monkeypatch.setattr(worker.transactions, "start", start)
    _run(worker._start(Owned("fq.case.inbox", 3)))
    ((what, exc),) = ended
    assert what == "taking fq.case.inbox[3]" and isinstance(exc, TransactionFailed)


def test_a_commit_that_fails_ends_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    ended = _ending(monkeypatch)
    worker = app_module.create_app(WorkflowSettings())

    async def commit(owned: Any = None) -> int:
        raise TransactionFailed("commit the transaction of fq.case.inbox[3]: fenced")

    monkeypatch.setattr(worker.transactions, "commit", commit)
    _run(worker._commit())
    ((what, exc),) = ended
    assert what == "committing" and "fenced" in str(exc)


def test_records_left_uncommitted_too_long_end_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    ended = _ending(monkeypatch)
    worker = app_module.create_app(WorkflowSettings(commit_stall_s=20))
    fresh = Owned("fq.case.inbox", 2, pending=10)
    stale = Owned("fq.case.inbox", 3, pending=10, committed_at=time.monotonic() - 21)
    idle = Owned("fq.case.inbox", 4, committed_at=time.monotonic() - 100)  # nothing pending
    for owned in (fresh, stale, idle):
        worker.transactions.owned[(owned.topic, owned.partition)] = owned
    _run(worker._log_stats())
    ((what, exc),) = ended
    assert what == "no transaction of fq.case.inbox[3] has committed for 20s"
    assert isinstance(exc, TimeoutError)
