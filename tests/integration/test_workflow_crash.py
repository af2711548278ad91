"""Exactly-once under a crash: ``kill -9`` the worker in the middle of a 20,000-submission
burst, restart it, and prove that nothing was lost, nothing was doubled, and the log is the
one a run without the crash writes.

The same bytes go to two isolated workflows: one is killed once it has written some
outcomes and then restarted, the other runs undisturbed. Both read committed records only.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, TopicPartition

from events.kafka_access import kafka_config
from events.models import (
    CaseEvent,
    DeadlineScheduled,
    SubmissionRejected,
    VisitRecorded,
)
from events.topics import CASE_EVENTS, REJECTIONS, VISIT_EVENTS
from simulate.city import CityShape, reference_events
from tests.integration.workflow_helpers import (
    Record,
    WorkflowRun,
    load_reference,
    outcome_id,
    outcomes_for,
    workflow_run_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.workflow_world import BURST, ILLEGAL, Encoded, burst, encode

pytestmark = pytest.mark.integration
OUTPUTS = [CASE_EVENTS, VISIT_EVENTS, REJECTIONS]


def submit(run: WorkflowRun, encoded: list[Encoded]) -> None:
    for inbox, key, value in encoded:
        run.produce(inbox, key, value)
    run.flush()


def written(run: WorkflowRun, topic: str) -> int:
    """How far the worker has written ``topic`` (high watermarks: committed or not)."""
    consumer = Consumer({**kafka_config(run.connection.kafka_bootstrap), "group.id": "fqt-hw"})
    try:
        name = run.topic(topic)
        partitions = consumer.list_topics(name, timeout=10).topics[name].partitions
        return sum(
            consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10)[1]
            for p in partitions
        )
    finally:
        consumer.close()


def check_exactly_once(records: list[Record], ids: list[str]) -> None:
    """One outcome per submission; each record written once; stream sequences 1..n."""
    by_submission: dict[str, set[tuple[str, bytes]]] = defaultdict(set)
    by_position: dict[tuple[str, bytes | None, int], set[bytes]] = defaultdict(set)
    for record in records:
        event = record.event
        assert event is not None, f"undecodable output at {record.topic}[{record.partition}]"
        by_submission[outcome_id(record) or ""].add((record.topic, record.value))
        if record.topic != REJECTIONS:
            assert event.envelope.sequence is not None
            by_position[(record.topic, record.key, event.envelope.sequence)].add(record.value)
    missing = [i for i in ids if i not in by_submission]
    assert not missing, f"{len(missing)} submissions without an outcome, e.g. {missing[:3]}"
    doubled = {i: o for i in ids if len(o := by_submission[i]) != 1}
    assert not doubled, f"{len(doubled)} submissions with two different outcomes"
    assert all(len(values) == 1 for values in by_position.values()), "a sequence written twice"
    streams: dict[tuple[str, bytes | None], list[int]] = defaultdict(list)
    for topic, key, sequence in by_position:
        streams[(topic, key)].append(sequence)
    gaps = {k: s for k, s in streams.items() if sorted(s) != list(range(1, len(s) + 1))}
    assert not gaps, f"{len(gaps)} streams with gaps, e.g. {next(iter(gaps.items()))}"


def deadlines(records: list[Record]) -> set[tuple[str, str, str]]:
    return {
        (e.case_id, e.deadline_id, e.due_time.isoformat())
        for r in records
        if isinstance(e := r.event, DeadlineScheduled)
    }


def test_a_kill_9_mid_burst_loses_and_doubles_nothing(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    town, reference = reference_events(CityShape.zhuangshi(), seed=5)
    events = burst(town)
    ids = [e.envelope.event_id for e in events]
    calm, crashed = workflow_run(), workflow_run()
    encoded = encode(calm.codec, events)

    # The undisturbed run, alone on the machine, gives the throughput and the reference log.
    calm.start()
    load_reference(calm, reference)
    started = time.monotonic()
    submit(calm, encoded)
    calm_records = calm.read(OUTPUTS, outcomes_for(ids), timeout_s=120)
    elapsed = time.monotonic() - started
    print(
        f"\nundisturbed: {BURST} submissions decided in {elapsed:.1f}s "
        f"({BURST / elapsed:.0f}/s, publishing included)"
    )
    calm.stop()

    crashed.start()
    load_reference(crashed, reference)
    submit(crashed, encoded)
    deadline = time.monotonic() + 60
    while written(crashed, CASE_EVENTS) < 3000:
        assert time.monotonic() < deadline, crashed.log_tail()
        crashed.ensure_running()
        time.sleep(0.05)
    crashed.kill()
    print(f"killed after {written(crashed, CASE_EVENTS)} case-log offsets")
    crashed.start()
    records = crashed.read(OUTPUTS, outcomes_for(ids), timeout_s=120)

    repeated = len(records) - len({(r.topic, r.value) for r in records})
    print(
        f"restarted run: {len(records)} records, {repeated} of them written twice, "
        f"{crashed.restarts} restarts of a worker that ended itself"
    )
    assert repeated == 0  # nothing on the canonical logs twice, however the crash fell
    check_exactly_once(calm_records, ids)
    check_exactly_once(records, ids)
    assert deadlines(records) == deadlines(calm_records)
    assert {r.value for r in records} == {r.value for r in calm_records}  # the very same log
    rejected = [r.event for r in records if isinstance(r.event, SubmissionRejected)]
    codes = {e.submission_event_id: e.code for e in rejected}
    assert {codes[f"illegal-resolve-{n}"] for n in range(ILLEGAL)} == {"INVALID_TRANSITION"}
    assert {codes[f"illegal-visit-{n}"] for n in range(ILLEGAL)} == {"WORKER_NOT_ASSIGNED"}
    assert len(deadlines(records)) > 1000
    assert all(isinstance(r.event, CaseEvent | VisitRecorded | SubmissionRejected) for r in records)
