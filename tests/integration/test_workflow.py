"""The workflow worker (``fengqiao process``) on the real stack, each test on its own topics.

A case through its whole loop; records that overfill the producer's batches written whole
and in order; an illegal step rejected with its code; every record answered by one outcome on
the outcomes topic; a duplicate answered there with its first answer, however many records
later, and never appended again; a poison record dead-lettered and a wrongly keyed submission
rejected while the agent goes on; the deadline trigger breaching an overdue deadline once;
SIGTERM stopping the worker cleanly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from events.kafka_access import kafka_config
from events.kafka_io import Deliveries, produce
from events.models import (
    ActorRole,
    DeadlineBreached,
    DeadlineScheduled,
    OutcomeStatus,
    SubmissionOutcome,
    SubmissionRejected,
    TrackPoint,
    VisitRecorded,
)
from events.topics import CASE_EVENTS, CASE_INBOX, OUTCOMES, REJECTIONS, VISIT_EVENTS, dlq
from infra.settings import ConnectionSettings
from infra.stack.acl_admin import grant_deployment
from infra.stack.topics_admin import admin_client, delete_topics_starting
from tests.integration.workflow_helpers import (
    Record,
    WorkflowRun,
    city,
    outcomes,
    outcomes_for,
    start_in_city,
    workflow_run_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.workflow_world import CATEGORY, T0, case_log, env, lifecycle

pytestmark = pytest.mark.integration


def test_a_case_runs_its_whole_loop(workflow_run: Callable[..., WorkflowRun]) -> None:
    run = start_in_city(workflow_run())
    submissions = lifecycle("case-loop-1")

    ids = run.submit(submissions)
    records = run.decided(ids)

    assert [r for r in records if r.topic == REJECTIONS] == []
    log = case_log(records, "case-loop-1")
    events = [r.event for r in log if r.event is not None]
    assert [e.envelope.sequence for e in events] == list(range(1, len(events) + 1))
    assert [e.envelope.event_id for e in events if e.envelope.event_id in ids] == ids
    scheduled = [e for e in events if isinstance(e, DeadlineScheduled)]
    assert {str(e.stage) for e in scheduled} == {"claim", "handle", "verify"}
    assert all(e.envelope.actor.role == ActorRole.system for e in scheduled)
    assert {r.key for r in log} == {b"case-loop-1"}
    assert len({r.partition for r in log}) == 1

    # What a timed-out read reports: a reader that has seen only the first record is behind
    # the committed end of the case's partition, and the diagnosis says by how much.
    (partition,) = {r.partition for r in log}
    physical = run.topic(CASE_EVENTS)
    diagnosis = run.diagnose({physical: CASE_EVENTS}, log[:1])
    assert f"{physical}[{partition}]: read to offset {log[0].offset + 1}, last stable" in diagnosis
    # And where a submission still without an outcome would be: its inbox partition and offset.
    located = run.locate([ids[1]])
    assert located.startswith("1 submissions without an outcome")
    assert f"{ids[1]} at {run.topic(CASE_INBOX)}[{partition}]@1: group offset" in located


def test_records_that_overfill_the_producer_batches_are_written_whole_and_in_order(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    # Batches of 1 KiB, smaller than one case record of the table: every append after the
    # first fills its batch, and one record alone is bigger than a batch. Many records are
    # decided before each write (up to 1,000, within 200 ms).
    settings = {
        "FQ_PRODUCER_BATCH_BYTES": "1024",
        "FQ_BATCH_RECORDS": "1000",
        "FQ_BATCH_WAIT_MS": "200",
    }
    run = start_in_city(workflow_run(settings=settings))
    cases = [f"case-batch-{n}" for n in range(12)]
    submissions = [s for case in cases for s in lifecycle(case)]

    ids = run.submit(submissions)
    records = run.decided(ids)

    assert [r for r in records if r.topic == REJECTIONS] == []
    for case, first in zip(cases, range(0, len(ids), 8), strict=True):
        log = sorted(case_log(records, case), key=lambda r: r.offset)
        events = [r.event for r in log if r.event is not None]
        assert [e.envelope.sequence for e in events] == list(range(1, len(events) + 1))
        own = ids[first : first + 8]
        assert [e.envelope.event_id for e in events if e.envelope.event_id in own] == own


def test_an_illegal_step_is_rejected_with_its_code(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    run = start_in_city(workflow_run())
    report, *_ = lifecycle("case-illegal-1")
    claim = lifecycle("case-illegal-1")[3]  # claimed before it was dispatched

    ids = run.submit([report, claim])
    records = run.decided(ids)

    (rejection,) = [r.event for r in records if isinstance(r.event, SubmissionRejected)]
    assert rejection.code == "INVALID_TRANSITION"
    assert rejection.submission_event_id == claim.envelope.event_id
    assert rejection.submission_type == "CaseClaimed"
    assert rejection.submission_key == "case-illegal-1"
    assert rejection.envelope.causation_id == claim.envelope.event_id
    assert rejection.envelope.event_time == claim.envelope.event_time
    assert [r.event.event_type for r in case_log(records, "case-illegal-1") if r.event] == [
        "CaseReported"
    ]


def answered(ids: list[str], times: int = 1) -> Callable[[list[Record]], bool]:
    """``until`` for ``WorkflowRun.read``: each id has ``times`` outcomes."""

    def until(records: list[Record]) -> bool:
        counts = Counter(o.submission_event_id for o in outcomes(records))
        return all(counts[i] >= times for i in ids)

    return until


def outcomes_of(records: list[Record], event_id: str) -> list[SubmissionOutcome]:
    return [o for o in outcomes(records) if o.submission_event_id == event_id]


def test_a_duplicate_is_answered_by_its_first_answer_and_appends_nothing(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    run = start_in_city(workflow_run())
    report, accept, dispatch, *_ = lifecycle("case-dup-1")
    run.submit([report, accept, dispatch])
    run.read([OUTCOMES], answered([dispatch.envelope.event_id]))

    run.submit([dispatch])  # the integrator's retry
    run.read([OUTCOMES], answered([dispatch.envelope.event_id], 2))
    records = run.read_to_end([CASE_EVENTS, REJECTIONS, OUTCOMES])

    first, again = outcomes_of(records, dispatch.envelope.event_id)
    log = case_log(records, "case-dup-1")
    scheduled = [r for r in log if isinstance(r.event, DeadlineScheduled)]
    assert (first.status, first.first_status) == (OutcomeStatus.ACCEPTED, None)
    assert (first.sequence, first.events) == (3, 2)  # the dispatch and its claim deadline
    assert [r.event.stage for r in scheduled if isinstance(r.event, DeadlineScheduled)] == ["claim"]
    assert (again.status, again.first_status) == (OutcomeStatus.DUPLICATE, OutcomeStatus.ACCEPTED)
    assert (again.sequence, again.events, again.code) == (first.sequence, first.events, None)
    assert again.inbox_partition == first.inbox_partition
    assert again.inbox_offset > first.inbox_offset
    assert again.envelope.event_id != first.envelope.event_id
    assert again.envelope.event_time == dispatch.envelope.event_time
    assert again.envelope.causation_id == dispatch.envelope.event_id
    assert again.key() == dispatch.envelope.source_system
    ids = [r.event.envelope.event_id for r in log if r.event]
    assert len(ids) == len(set(ids))  # each event once on the canonical log
    assert sorted(r.event.envelope.sequence or 0 for r in log if r.event) == list(
        range(1, len(log) + 1)
    )
    assert not [r for r in records if r.topic == REJECTIONS]
    cases = [o for o in outcomes(records) if o.inbox_topic == run.topic(CASE_INBOX)]
    assert len(cases) == 4  # one per record: report, accept, dispatch, its retry


def test_a_rejected_submission_sent_again_gets_its_first_answer_though_the_case_moved_on(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    # A refused submission retried after later records of its case changed it: a claim refused
    # before the dispatch would now be legal. Its answer must still be the first one.
    run = start_in_city(workflow_run())
    report, accept, dispatch, claim, *_ = lifecycle("case-refused-1")
    run.submit([report, claim])
    run.read([OUTCOMES], answered([claim.envelope.event_id]))

    run.submit([accept, dispatch, claim])
    run.read([OUTCOMES], answered([claim.envelope.event_id], 2))
    records = run.read_to_end([CASE_EVENTS, REJECTIONS, OUTCOMES])

    (refusal,) = [r.event for r in records if isinstance(r.event, SubmissionRejected)]
    first, again = outcomes_of(records, claim.envelope.event_id)
    assert (first.status, first.code) == (OutcomeStatus.REJECTED, "INVALID_TRANSITION")
    assert first.message == refusal.message and first.sequence is None
    assert (again.status, again.first_status) == (OutcomeStatus.DUPLICATE, OutcomeStatus.REJECTED)
    assert (again.code, again.message, again.sequence) == (first.code, first.message, None)
    kinds = [r.event.event_type for r in case_log(records, "case-refused-1") if r.event]
    assert "CaseDispatched" in kinds and "CaseClaimed" not in kinds


def visit(n: int, at: datetime) -> VisitRecorded:
    town, _ = city()
    grid = town.grids[0]
    return VisitRecorded(
        envelope=env(at, ActorRole.grid_worker, town.workers[grid][0], "gridapp"),
        visit_id=f"visit-{n}",
        grid_id=grid,
        worker_id=town.workers[grid][0],
        started_at=at - timedelta(minutes=30),
        ended_at=at,
        households_visited=3,
        items_checked=(CATEGORY,),
        findings=(),
        track=(TrackPoint(t=at, lat=29.94, lon=121.59),),
    )


def test_a_submission_sent_again_a_thousand_records_later_is_a_duplicate(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    # Far beyond what any window of recent events would keep: a case with a thousand refused
    # submissions after its report, a grid with a thousand visits after its first.
    run = start_in_city(workflow_run())
    report, _, _, claim, *_ = lifecycle("case-old-1")
    claims = [
        claim.model_copy(update={"envelope": env(T0, ActorRole.department, "desk", "dept.x")})
        for _ in range(1_000)
    ]
    visits = [visit(n, T0 + timedelta(minutes=n)) for n in range(1_001)]
    run.submit([report, *claims, *visits])
    run.read([OUTCOMES], answered([visits[-1].envelope.event_id, claims[-1].envelope.event_id]))
    before = run.read_to_end([CASE_EVENTS, VISIT_EVENTS, REJECTIONS])

    again = [report, claims[0], visits[0]]
    run.submit(again)
    run.read([OUTCOMES], answered([e.envelope.event_id for e in again], 2))
    after = run.read_to_end([CASE_EVENTS, VISIT_EVENTS, REJECTIONS, OUTCOMES])

    assert len(before) == 1 + 1_000 + 1_001  # the report, the refusals, the visits
    assert [r.value for r in after if r.topic != OUTCOMES] == [r.value for r in before]
    answers = [o for o in outcomes(after) if o.submission_stream != "reference"]
    assert len(answers) == 1 + 1_000 + 1_001 + 3  # one per record
    (reported, *_, reported_again) = outcomes_of(after, report.envelope.event_id)
    assert (reported_again.status, reported_again.first_status) == (
        OutcomeStatus.DUPLICATE,
        OutcomeStatus.ACCEPTED,
    )
    assert (reported.status, reported.sequence, reported.events) == (OutcomeStatus.ACCEPTED, 1, 1)
    assert (reported_again.sequence, reported_again.events) == (1, 1)
    refused, refused_again = outcomes_of(after, claims[0].envelope.event_id)
    assert refused.status == OutcomeStatus.REJECTED
    assert (refused_again.status, refused_again.first_status) == (
        OutcomeStatus.DUPLICATE,
        OutcomeStatus.REJECTED,
    )
    assert refused_again.code == refused.code
    assert refused_again.message == refused.message
    visited, visited_again = outcomes_of(after, visits[0].envelope.event_id)
    assert (visited.status, visited.sequence, visited.events) == (OutcomeStatus.ACCEPTED, 1, 1)
    assert (visited_again.status, visited_again.first_status) == (
        OutcomeStatus.DUPLICATE,
        OutcomeStatus.ACCEPTED,
    )
    assert (visited_again.sequence, visited_again.events) == (1, 1)


def test_bad_input_is_answered_and_the_agent_goes_on(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    run = start_in_city(workflow_run())
    report, accept, *_ = lifecycle("case-poison-1")
    (elsewhere,) = lifecycle("case-poison-2")[:1]

    run.submit([report])
    run.produce(CASE_INBOX, b"case-poison-1", b"garbage")
    unknown_schema = b"\x00" + (2**31 - 7).to_bytes(4, "big") + b"\x02"
    run.produce(CASE_INBOX, b"case-poison-1", unknown_schema)
    run.produce(CASE_INBOX, b"case-poison-1", run.codec.encode(CASE_INBOX, elsewhere))
    run.flush()
    ids = run.submit([accept])
    records = run.read(
        [CASE_EVENTS, REJECTIONS, dlq(CASE_INBOX)],
        lambda rs: (
            outcomes_for([*ids, elsewhere.envelope.event_id])(rs)
            and len([r for r in rs if r.topic == dlq(CASE_INBOX)]) == 2
        ),
    )
    run.read([OUTCOMES], answered(ids))
    answers = [
        o for o in outcomes(run.read_to_end([OUTCOMES])) if o.inbox_topic == run.topic(CASE_INBOX)
    ]

    garbage, unknown = [r for r in records if r.topic == dlq(CASE_INBOX)]
    assert (garbage.value, unknown.value) == (b"garbage", unknown_schema)
    assert garbage.key == unknown.key == b"case-poison-1"
    headers = dict(garbage.headers)
    assert headers["fq.dlq.reason"] == b"magic byte is 103, expected 0 (Confluent wire format)"
    assert headers["fq.dlq.topic"] == run.topic(CASE_INBOX).encode()
    assert int(headers["fq.dlq.offset"]) >= 0 and int(headers["fq.dlq.partition"]) >= 0
    assert dict(unknown.headers)["fq.dlq.reason"].startswith(b"schema id 2147483641: ")
    rejected = [r.event for r in records if isinstance(r.event, SubmissionRejected)]
    assert sorted(e.code for e in rejected) == ["POISON_RECORD", "POISON_RECORD", "WRONG_KEY"]
    assert {e.submission_key for e in rejected if e.code == "POISON_RECORD"} == {"case-poison-1"}
    (wrong_key,) = [e for e in rejected if e.code == "WRONG_KEY"]
    assert wrong_key.submission_event_id == elsewhere.envelope.event_id
    assert wrong_key.submission_key == "case-poison-2"  # its stream's key, not the record's
    assert [r.event.event_type for r in case_log(records, "case-poison-1") if r.event] == [
        "CaseReported",
        "CaseAccepted",
    ]
    assert case_log(records, "case-poison-2") == []
    # One outcome per record: the poison ones for the system nothing in them can name
    statuses = sorted((o.status, o.code, o.key()) for o in answers)
    assert statuses == [
        (OutcomeStatus.ACCEPTED, None, "centre.street"),
        (OutcomeStatus.ACCEPTED, None, "gridapp"),
        (OutcomeStatus.REJECTED, "POISON_RECORD", "unknown"),
        (OutcomeStatus.REJECTED, "POISON_RECORD", "unknown"),
        (OutcomeStatus.REJECTED, "WRONG_KEY", "gridapp"),
    ]
    poison = [o for o in answers if o.code == "POISON_RECORD"]
    assert {o.submission_key for o in poison} == {"case-poison-1"}
    assert {(o.inbox_topic, o.submission_stream) for o in poison} == {
        (run.topic(CASE_INBOX), "case")
    }
    assert sorted(o.inbox_offset for o in answers) == sorted({o.inbox_offset for o in answers})


def test_the_trigger_breaches_an_overdue_deadline_once(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    run = start_in_city(workflow_run(trigger_interval_s=0.5))
    report, accept, dispatch, *_ = lifecycle("case-late-1")  # claim was due in March 2025

    run.submit([report, accept, dispatch])

    def breached(records: list[Record]) -> bool:
        return any(isinstance(r.event, DeadlineBreached) for r in records)

    run.read([CASE_EVENTS], breached)
    assert run.stop() == 0  # SIGTERM: a clean stop, its last transaction committed
    records = run.read([CASE_EVENTS, REJECTIONS], breached)
    breaches = [
        r.event for r in case_log(records, "case-late-1") if isinstance(r.event, DeadlineBreached)
    ]
    assert len({b.envelope.sequence for b in breaches}) == 1  # accepted once, however often sent
    (claim_deadline,) = [
        r.event
        for r in records
        if isinstance(r.event, DeadlineScheduled) and r.event.stage == "claim"
    ]
    assert breaches[0].deadline_id == claim_deadline.deadline_id
    assert breaches[0].envelope.actor.role == ActorRole.system


def test_a_submission_compressed_as_the_sdk_sends_it_is_decided(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    """The publisher SDK compresses with lz4; the worker's Kafka client must read that."""
    from confluent_kafka import Producer

    from events.publisher import PublisherSettings

    run = start_in_city(workflow_run())
    report = lifecycle("case-lz4-1")[0]
    sdk_like = Producer(
        {
            **kafka_config(run.connection.kafka_bootstrap),
            "compression.type": PublisherSettings().producer_config()["compression.type"],
            "partitioner": "murmur2_random",
        }
    )
    deliveries = Deliveries()
    value = run.codec.encode(CASE_INBOX, report)
    produce(sdk_like, run.topic(CASE_INBOX), value, b"case-lz4-1", deliveries)
    deliveries.flush(sdk_like, 30, "the lz4 record")
    records = run.read([CASE_EVENTS, REJECTIONS], outcomes_for([report.envelope.event_id]))
    accepted = [r for r in records if r.topic == CASE_EVENTS]
    assert len(accepted) == 1 and run.worker is not None and run.worker.poll() is None


def test_the_worker_starts_with_its_default_data_directory_in_a_fresh_temp_dir(
    connection_settings: ConnectionSettings, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    """faust creates only the last folder of its data directory; the worker makes the rest."""
    import os
    import subprocess
    import sys
    import time

    name = unique_name("wfdir")
    # Its topics start with its app id: the workflow's principal may create them itself.
    grant_deployment(connection_settings.kafka_bootstrap, f"{name}.", name)
    env = {k: v for k, v in os.environ.items() if k != "FQ_WORKFLOW_DATA_DIR"} | {
        "TMPDIR": str(tmp_path),
        "FQ_WORKFLOW_APP_ID": name,
        "FQ_TOPIC_PREFIX": f"{name}.",
        "FQ_TRIGGER_INTERVAL_S": "0",
        # The session's stack, wherever it runs (not the default ports' one).
        "FQ_KAFKA_BOOTSTRAP": connection_settings.kafka_bootstrap,
        "FQ_REGISTRY_URL": connection_settings.registry_url,
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", "process"], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and "Ready" not in log.read_text(errors="replace"):
            assert worker.poll() is None, log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        assert "Ready" in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]
        assert (tmp_path / "fengqiao-workflow" / name).is_dir()
    finally:
        worker.terminate()
        worker.wait(60)
        admin = admin_client(connection_settings.kafka_bootstrap)
        delete_topics_starting(admin, (f"{name}.", f"{name}-"))
