"""Offsets never delivered, on the real broker: a hole of readable records ends the worker;
one of transaction markers and aborted records does not."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

from events.kafka_access import kafka_config
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import admin_client, delete_topics_starting
from processors import app as app_module
from processors.transactions import Owned, Skipped, Transactions, holds_records

pytestmark = pytest.mark.integration


class Ended(Exception):
    """Stands for the end of the process, which ``fatal`` brings with ``os._exit``."""


@pytest.fixture
def partition(connection_settings: ConnectionSettings, unique_name: Callable[[str], str]) -> Any:
    """A one-partition topic: offsets 0-2 plain records, 3-4 aborted, 5 the abort marker,
    6 a committed record, 7 its commit marker."""
    name = unique_name("guard")
    bootstrap = connection_settings.kafka_bootstrap
    admin = admin_client(bootstrap)
    admin.create_topics([NewTopic(name, 1, 1)])[name].result()
    plain = Producer({**kafka_config(bootstrap), "enable.idempotence": True})
    for n in range(3):
        plain.produce(name, value=b"plain-%d" % n)
    assert plain.flush(30) == 0
    txn = Producer({**kafka_config(bootstrap), "transactional.id": f"{name}-txn"})
    txn.init_transactions(30)
    txn.begin_transaction()
    txn.produce(name, value=b"aborted-1")
    txn.produce(name, value=b"aborted-2")
    assert txn.flush(30) == 0  # written to the log before the abort, not dropped unsent
    txn.abort_transaction(30)
    txn.begin_transaction()
    txn.produce(name, value=b"committed")
    txn.commit_transaction(30)
    yield SimpleNamespace(bootstrap=bootstrap, topic=name)
    delete_topics_starting(admin, (name,))


def test_a_range_is_known_to_hold_records_or_only_markers(partition: Any) -> None:
    def holds(start: int, end: int) -> bool:
        return holds_records(partition.bootstrap, partition.topic, 0, start, end)

    assert holds(0, 1) and holds(1, 3)
    assert not holds(3, 6)  # two aborted records and the abort marker
    assert holds(3, 7)  # ... and the committed record at 6
    assert not holds(7, 8)  # the commit marker, at the end of the partition


def _deliver(
    partition: Any, monkeypatch: pytest.MonkeyPatch, committed: int, offsets: list[int]
) -> list[tuple[str, BaseException]]:
    ended: list[tuple[str, BaseException]] = []

    def fatal(what: str, exc: BaseException) -> None:
        ended.append((what, exc))
        raise Ended

    monkeypatch.setattr(app_module, "fatal", fatal)
    settings = SimpleNamespace(kafka_bootstrap=partition.bootstrap)
    owned = Owned(partition.topic, 0, next_offset=committed)

    async def run() -> None:
        for offset in offsets:  # as the agent does for each record
            message = SimpleNamespace(topic=partition.topic, partition=0, offset=offset)
            verdict = Transactions.admit(owned, offset)
            if isinstance(verdict, Skipped):
                await app_module._end_if_records_skipped(
                    settings,  # type: ignore[arg-type]
                    message,
                    verdict,
                )

    try:
        asyncio.run(run())
    except Ended:
        pass
    return ended


def test_a_record_delivered_past_an_undelivered_one_ends_the_worker(
    partition: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ((what, exc),) = _deliver(partition, monkeypatch, committed=0, offsets=[0, 2])
    assert isinstance(exc, app_module.SkippedRecords)
    assert f"{partition.topic}[0]@2 was delivered, but offsets 1..1" in what


def test_a_jump_over_markers_and_aborted_records_goes_on(
    partition: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _deliver(partition, monkeypatch, committed=0, offsets=[0, 1, 2, 6]) == []
