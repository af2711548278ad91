"""``Publisher.submit`` against a running workflow: each submission's outcome, read from the
submitting systems' partitions of the outcomes topic, in input order.

Accepted with its sequence, rejected with its code, a duplicate of an accepted or of a refused
submission with that first answer (also when the first answer is far behind the case's last
events), and a clear error when no workflow answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from events.models import ActorRole, OutcomeStatus
from events.outcomes import OutcomeTimeout
from events.publisher import Publisher, PublisherSettings
from tests.integration.workflow_helpers import (
    WorkflowRun,
    start_in_city,
    workflow_run_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.workflow_world import T0, env, lifecycle

pytestmark = pytest.mark.integration


@contextmanager
def publisher(run: WorkflowRun) -> Iterator[Publisher]:
    settings = PublisherSettings(
        kafka_bootstrap=run.connection.kafka_bootstrap,
        registry_url=run.connection.registry_url,
        topic_prefix=run.prefix,
    )
    with Publisher(settings) as sdk:
        yield sdk


def running(workflow_run: Callable[..., WorkflowRun]) -> WorkflowRun:
    run = start_in_city(workflow_run())
    return run


def test_submit_answers_accepted_and_rejected_in_input_order(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    run = running(workflow_run)
    report, accept, _, claim, *_ = lifecycle("case-sdk-1")
    with publisher(run) as sdk:
        claimed, reported, accepted = sdk.submit([claim, report, accept])

    assert (claimed.event_id, claimed.accepted, claimed.status) == (
        claim.envelope.event_id,
        False,
        OutcomeStatus.REJECTED,
    )
    assert claimed.code == "UNKNOWN_CASE" and claimed.message and claimed.sequence is None
    assert (reported.accepted, reported.status, reported.sequence, reported.events) == (
        True,
        OutcomeStatus.ACCEPTED,
        1,
        1,
    )
    assert (accepted.sequence, accepted.code, accepted.duplicate) == (2, None, False)


def test_submit_answers_a_duplicate_with_the_first_answer(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    run = running(workflow_run)
    report, _, _, claim, *_ = lifecycle("case-sdk-2")
    with publisher(run) as sdk:
        reported, refused = sdk.submit([report, claim])
        reported_again, refused_again = sdk.submit([report, claim])

    assert refused.code == "INVALID_TRANSITION"
    assert reported_again.status == refused_again.status == OutcomeStatus.DUPLICATE
    assert reported_again.duplicate and refused_again.duplicate
    assert (reported_again.accepted, reported_again.sequence) == (True, reported.sequence)
    assert (refused_again.accepted, refused_again.code, refused_again.message) == (
        False,
        refused.code,
        refused.message,
    )


def test_submit_answers_a_duplicate_older_than_the_case_s_last_16_events(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    run = running(workflow_run)
    report, _, _, claim, *_ = lifecycle("case-sdk-3")
    later = [
        claim.model_copy(update={"envelope": env(T0, ActorRole.department, "desk", "dept.x")})
        for _ in range(40)
    ]
    with publisher(run) as sdk:
        first = sdk.submit([report, claim, *later])
        reported_again, refused_again = sdk.submit([report, claim])

    assert first[0].accepted and not any(o.accepted for o in first[1:])
    assert (reported_again.status, reported_again.sequence) == (OutcomeStatus.DUPLICATE, 1)
    assert (refused_again.status, refused_again.code) == (OutcomeStatus.DUPLICATE, first[1].code)


def test_submit_without_a_running_workflow_times_out_with_a_clear_error(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    run = workflow_run()  # its topics, no worker
    report = lifecycle("case-sdk-4")[0]
    with publisher(run) as sdk, pytest.raises(OutcomeTimeout) as raised:
        sdk.submit([report], timeout_s=2)
    assert "1 submission(s) without an outcome after 2s" in str(raised.value)
    assert "is `fengqiao process` running?" in str(raised.value)
    assert raised.value.missing == [report.envelope.event_id]
