"""An input partition's transactions on the real broker: outputs and the consumed offset
commit together; the next owner fences the last one, whose open transaction never shows and
whose later commits fail; a partition's tables come back as the committed changelog holds
them; a changelog that cannot be read fails the restore."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition

from events.kafka_access import kafka_config
from infra.settings import ConnectionSettings
from infra.stack.topics_admin import admin_client, delete_topics_starting, ensure_topics
from infra.topics import TopicSpec
from processors.changelog import RestoreFailed, Table, restore
from processors.settings import WorkflowSettings
from processors.transactions import Owned, TransactionFailed, Transactions

pytestmark = pytest.mark.integration


@pytest.fixture
def scratch(
    connection_settings: ConnectionSettings, unique_name: Callable[[str], str]
) -> Iterator[WorkflowSettings]:
    """An app id with an inbox, an output topic and a changelog of two partitions each."""
    name = unique_name("txn")
    admin = admin_client(connection_settings.kafka_bootstrap)
    topics = [f"{name}.inbox", f"{name}.out", f"{name}-t-changelog"]
    # created and answering on every partition before a worker could read them
    ensure_topics(admin, connection_settings, [TopicSpec(t, 2) for t in topics])
    yield WorkflowSettings(
        kafka_bootstrap=connection_settings.kafka_bootstrap, workflow_app_id=name
    )
    delete_topics_starting(admin, (name,))


def _read(settings: WorkflowSettings, topic: str) -> list[bytes]:
    """Every committed record of ``topic``, to its end."""
    consumer = Consumer(
        {
            **kafka_config(settings.kafka_bootstrap),
            "group.id": f"txn-read-{uuid.uuid4()}",
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in (0, 1)])
        values, ends = [], 0
        while ends < 2:
            for msg in consumer.consume(100, 1.0):
                error = msg.error()
                if error is not None and error.code() == KafkaError._PARTITION_EOF:
                    ends += 1
                elif error is None:
                    values.append(msg.value() or b"")
        return values
    finally:
        consumer.close()


def _committed(settings: WorkflowSettings, topic: str) -> int:
    consumer = Consumer(
        {
            **kafka_config(settings.kafka_bootstrap),
            "group.id": settings.workflow_app_id,
            "isolation.level": "read_committed",
        }
    )
    try:
        (tp,) = consumer.committed([TopicPartition(topic, 1)], 30)
        return int(tp.offset)
    finally:
        consumer.close()


def _out(settings: WorkflowSettings, *values: bytes) -> list[Any]:
    name = settings.workflow_app_id
    return [(f"{name}.out", b"k", v, 1, None) for v in values] + [
        (f"{name}-t-changelog", b"state", v, 1, None) for v in values
    ]


async def _take(txns: Transactions, settings: WorkflowSettings, table: Table) -> Owned:
    (owned,) = txns.take([(f"{settings.workflow_app_id}.inbox", 1)])
    await txns.start(owned, lambda: restore(settings.kafka_bootstrap, [table], 1).install)
    return owned


def test_outputs_and_the_offset_commit_together_and_the_next_owner_fences(
    scratch: WorkflowSettings,
) -> None:
    settings, inbox = scratch, f"{scratch.workflow_app_id}.inbox"

    async def run() -> tuple[Table, Table, str]:
        first, second = Transactions(settings), Transactions(settings)
        table_1 = Table("t", f"{settings.workflow_app_id}-t-changelog")
        table_2 = Table("t", f"{settings.workflow_app_id}-t-changelog")
        owned = await _take(first, settings, table_1)
        assert owned.next_offset == 0 and table_1.parts == {1: {}}
        assert await first.write(owned, _out(settings, b"a", b"b"), 2)
        assert await first.commit() == 1
        assert await first.write(owned, _out(settings, b"c"), 3)  # left open: then fenced
        taken = await _take(second, settings, table_2)
        with pytest.raises(TransactionFailed) as failed:
            await first.commit()
        await second.close()
        return table_2, Table("x", "x"), f"{failed.value} / {taken.next_offset}"

    table, _, how = asyncio.run(run())
    assert how.endswith(" / 2"), how  # the next owner reads on from offset 2
    assert "commit the transaction of" in how or "send offsets to" in how
    assert sorted(_read(settings, f"{settings.workflow_app_id}.out")) == [b"a", b"b"]
    assert table.parts == {1: {b"state": b"b"}}  # restored as committed: not b"c"
    assert _committed(settings, inbox) == 2


def test_a_released_partition_aborts_its_open_transaction_and_drops_later_writes(
    scratch: WorkflowSettings,
) -> None:
    settings = scratch

    async def run() -> bool:
        txns = Transactions(settings)
        owned = await _take(txns, settings, Table("t", f"{settings.workflow_app_id}-t-changelog"))
        assert await txns.write(owned, _out(settings, b"open"), 1)
        assert [o.partition for o in await txns.release(())] == [1]
        late = await txns.write(owned, _out(settings, b"late"), 2)
        await txns.close()
        return late

    assert asyncio.run(run()) is False
    assert _read(settings, f"{settings.workflow_app_id}.out") == []
    assert _committed(settings, f"{settings.workflow_app_id}.inbox") < 0  # nothing committed


def test_a_changelog_that_does_not_exist_fails_the_restore(scratch: WorkflowSettings) -> None:
    missing = Table("t", f"{scratch.workflow_app_id}-nothing-changelog")
    with pytest.raises(RestoreFailed, match="nothing-changelog"):
        restore(scratch.kafka_bootstrap, [missing], 0)


def test_a_partition_released_while_it_is_taken_installs_nothing(
    scratch: WorkflowSettings,
) -> None:
    settings = scratch
    table = Table("t", f"{settings.workflow_app_id}-t-changelog")

    async def run() -> bool:
        txns = Transactions(settings)
        (owned,) = txns.take([(f"{settings.workflow_app_id}.inbox", 1)])
        starting = asyncio.create_task(
            txns.start(owned, lambda: restore(settings.kafka_bootstrap, [table], 1).install)
        )
        await txns.release(())
        taken = await starting
        assert owned.producer is None and not owned.ready.is_set()
        await txns.close()
        return taken

    assert asyncio.run(run()) is False
    assert table.parts == {}
