"""Exactly-once under repeated ``kill -9``: nothing already answered is decided again.

Submissions go to the inboxes in waves while the worker decides them, some of them sent again
in the next wave (an integrator's retries); after each wave the worker is killed at a random
moment (SIGKILL: no shutdown, no commit) and started again. At the end the canonical topics,
the rejections and the outcomes are read (committed records only), and every event id found
more than once is a submission decided again: there must be none (a retry is answered on the
outcomes topic, never appended again), every inbox record must have exactly one outcome (the
retries a DUPLICATE), and the group's committed offsets must be the ends of the inboxes. How
long each restarted worker took to commit again is measured too.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, TopicPartition

from events.kafka_access import kafka_config
from events.models import OutcomeStatus, SubmissionRejected
from events.topics import CASE_EVENTS, INBOX, OUTCOMES, REFERENCE_EVENTS, REJECTIONS, VISIT_EVENTS
from simulate.city import CityShape, reference_events
from tests.integration.workflow_helpers import (
    Record,
    WorkflowRun,
    load_reference,
    outcome_id,
    outcomes,
    outcomes_for,
    workflow_run_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.workflow_world import burst, encode

pytestmark = pytest.mark.integration
KILLS = 4
SUBMISSIONS = 12_000
RESUBMITTED = 600  # sent again in the wave after their first
# A restarted worker not committing again within this is broken. How fast it recovers (6-10 s
# on a quiet machine, README) is a figure the test prints, not a limit it enforces: a loaded
# machine moves it, and speed is measured by benchmarks, not by timed tests.
BACK_TO_WORK_S = 60.0
OUTPUTS = [CASE_EVENTS, VISIT_EVENTS, REFERENCE_EVENTS, REJECTIONS, OUTCOMES]


def inbox_partitions(run: WorkflowRun) -> list[TopicPartition]:
    return [
        TopicPartition(run.topic(logical), p)
        for logical in INBOX.values()
        for p in range(1 if logical == INBOX["reference"] else 12)
    ]


class GroupOffsets:
    """The group's committed offsets and the inboxes' ends, through one consumer kept open (a
    recovery is timed by polling them, which a new consumer per poll would slow down).
    ``stable``: offsets with none pending in an open transaction (the broker holds the answer
    until the transaction ends); otherwise those last committed."""

    def __init__(self, run: WorkflowRun, stable: bool = False) -> None:
        self.tps = inbox_partitions(run)
        self.consumer = Consumer(
            {
                **kafka_config(run.connection.kafka_bootstrap),
                "group.id": run.app_id,
                "enable.auto.commit": False,
                "isolation.level": "read_committed" if stable else "read_uncommitted",
            }
        )

    def committed(self) -> dict[tuple[str, int], int]:
        found = self.consumer.committed(self.tps, 30)
        return {(tp.topic, tp.partition): max(tp.offset, 0) for tp in found}

    def ends(self) -> dict[tuple[str, int], int]:
        return {
            (tp.topic, tp.partition): self.consumer.get_watermark_offsets(tp, 10)[1]
            for tp in self.tps
        }

    def close(self) -> None:
        self.consumer.close()


def wait_for_commit_above(
    run: WorkflowRun, offsets: GroupOffsets, total: int, timeout_s: float = 60
) -> None:
    """Until the group's committed offsets add up to more than ``total``."""
    deadline = time.monotonic() + timeout_s
    while sum(offsets.committed().values()) <= total:
        run.ensure_running()
        if time.monotonic() > deadline:
            pytest.fail(f"no commit in {timeout_s}s:\n{run.log_tail()}")
        time.sleep(0.05)


def decided_again(records: list[Record]) -> Counter[str]:
    """Each event id on the canonical logs, and each rejected submission id, that is there
    more than once, with its count."""
    seen: Counter[str] = Counter()
    for record in records:
        assert record.event is not None, f"undecodable {record.topic}[{record.partition}]"
        if isinstance(record.event, SubmissionRejected):
            seen[f"rejected:{record.event.submission_event_id}"] += 1
        else:
            seen[f"{record.topic}:{record.event.envelope.event_id}"] += 1
    return Counter({k: n for k, n in seen.items() if n > 1})


def test_kill_9_at_random_moments_decides_nothing_again(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    seed = uuid.uuid4().int % 1_000_000
    rng = random.Random(seed)
    town, reference = reference_events(CityShape.zhuangshi(), seed=5)
    events = burst(town)[:SUBMISSIONS]  # the mixed burst of the crash test, cut for time
    ids = [e.envelope.event_id for e in events]
    # Restarted as a supervisor would, under the same name: it takes its place in the group at
    # once, instead of waiting for the killed worker's session to time out.
    run = workflow_run(settings={"FQ_GROUP_INSTANCE_ID": "worker-1"})
    encoded = encode(run.codec, events)
    cuts = [len(encoded) * i // (KILLS + 1) for i in range(KILLS + 2)]
    waves = [encoded[a:b] for a, b in itertools.pairwise(cuts)]
    # A retry goes to the same partition as its first (same key), a wave later: after it.
    again = sorted(rng.sample(range(len(encoded)), RESUBMITTED))
    for index in again:
        first = next(n for n, (a, b) in enumerate(itertools.pairwise(cuts)) if a <= index < b)
        waves[min(first + 1, KILLS)].append(encoded[index])
    again_ids = {ids[index] for index in again}

    run.start()
    load_reference(run, reference)
    offsets = GroupOffsets(run)
    recoveries = []
    for n, wave in enumerate(waves):
        before = sum(offsets.committed().values())
        for inbox, key, value in wave:
            run.produce(inbox, key, value)
        run.flush()
        if n:  # killed after the last wave; restarted with this one to decide, timed
            started = time.monotonic()
            run.start()
            wait_for_commit_above(run, offsets, before)
            recoveries.append(time.monotonic() - started)
        if n == len(waves) - 1:
            break
        wait_for_commit_above(run, offsets, before)  # deciding: the kill lands under load
        time.sleep(rng.uniform(0.0, 1.5))
        run.kill()
    offsets.close()
    ref_ids = [e.envelope.event_id for e in reference]
    records = run.read(OUTPUTS, outcomes_for([*ref_ids, *ids]), timeout_s=120)

    stable = GroupOffsets(run, stable=True)
    deadline = time.monotonic() + 60
    while (committed := stable.committed()) != (ends := stable.ends()):
        if time.monotonic() > deadline:
            break
        time.sleep(0.25)
    stable.close()
    records = run.read_to_end(OUTPUTS)
    twice = decided_again(records)
    answered = Counter(outcome_id(r) for r in records if outcome_id(r) in set(ids))
    answers = outcomes(records)
    per_record = Counter((o.inbox_topic, o.inbox_partition, o.inbox_offset) for o in answers)
    print(
        f"\nseed {seed}: {KILLS} kills, {len(ids)} submissions and {RESUBMITTED} sent again, "
        f"{len(twice)} decided again, recoveries {[round(r, 1) for r in recoveries]} s, "
        f"{run.restarts} self-restarts"
    )
    assert not twice, f"{len(twice)} decided again, e.g. {twice.most_common(5)}"
    assert set(answered) == set(ids)
    # Exactly one outcome per inbox record, the reference data's included
    assert len(answers) == len(per_record) == sum(ends.values())
    assert set(per_record.values()) == {1}
    retried = Counter(o.submission_event_id for o in answers if o.status is OutcomeStatus.DUPLICATE)
    assert retried == Counter(again_ids), set(again_ids) ^ set(retried)
    assert committed == ends, {
        tp: (committed[tp], ends[tp]) for tp in ends if committed[tp] != ends[tp]
    }
    assert max(recoveries) < BACK_TO_WORK_S, recoveries
