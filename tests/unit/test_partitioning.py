"""Fengqiao's key partitioning is the one aiokafka (the workflow's faust producers) computes,
so the workflow may name a record's partition itself without moving any key."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from events.partitioning import partition_for


@given(key=st.binary(min_size=1, max_size=80), partitions=st.sampled_from([1, 3, 12, 50]))
def test_partition_for_is_aiokafkas_default_partitioner(key: bytes, partitions: int) -> None:
    ids = list(range(partitions))
    assert partition_for(key, partitions) == DefaultPartitioner()(key, ids, ids)


def test_a_case_id_text_and_its_bytes_partition_alike() -> None:
    assert partition_for("c-20250603-551116bce7", 12) == partition_for(b"c-20250603-551116bce7", 12)
