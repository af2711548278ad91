"""Who may do what, through the real workflow: a department's system, scoped by its
``SourceSystemDefined``, is refused claiming a case another department holds, with its own
code on ``fq.rejections`` and on ``fq.outcomes``; the holding department's system claims it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest

from events.models import (
    Actor,
    ActorRole,
    CaseClaimed,
    OutcomeStatus,
    SourceSystemDefined,
    SubmissionRejected,
)
from events.topics import CASE_EVENTS, OUTCOMES, REJECTIONS
from tests.integration.workflow_helpers import (
    WorkflowRun,
    city,
    load_reference,
    outcomes,
    outcomes_for,
    workflow_run_fixture,  # noqa: F401 (a fixture)
)
from tests.integration.workflow_world import DEPARTMENT, T0, case_log, env, lifecycle

pytestmark = pytest.mark.integration
OTHER = "housing"


def scope(system: str, department: str) -> SourceSystemDefined:
    """The system speaks for one department, in every district."""
    return SourceSystemDefined(
        envelope=env(T0 - timedelta(days=1), ActorRole.system, "admin", "credentials"),
        system=system,
        event_types=("*",),
        departments=(department,),
        districts=("*",),
        effective_from=(T0 - timedelta(days=1)).date(),
    )


def test_a_department_system_is_refused_claiming_another_departments_case(
    workflow_run: Callable[..., WorkflowRun],
) -> None:
    run = workflow_run()
    run.start()
    other_system, own_system = f"dept.{OTHER}", f"dept.{DEPARTMENT}"
    load_reference(run, [*city()[1], scope(other_system, OTHER), scope(own_system, DEPARTMENT)])
    report, accept, dispatch, claim, *_ = lifecycle("case-who-1")
    # The housing desk's system claims the law-enforcement case, naming the holder.
    impostor = CaseClaimed(
        envelope=claim.envelope.model_copy(
            update={
                "event_id": str(uuid.uuid4()),
                "source_system": other_system,
                "actor": Actor(id=f"{OTHER}-desk", role=ActorRole.department),
            }
        ),
        case_id="case-who-1",
        department_code=DEPARTMENT,
    )
    assert claim.envelope.source_system == own_system

    ids = run.submit([report, accept, dispatch, impostor, claim])
    records = run.read([CASE_EVENTS, REJECTIONS, OUTCOMES], outcomes_for(ids))

    (rejection,) = [r.event for r in records if isinstance(r.event, SubmissionRejected)]
    assert rejection.code == "WRONG_DEPARTMENT"
    assert rejection.submission_event_id == impostor.envelope.event_id
    assert other_system in rejection.message and DEPARTMENT in rejection.message
    answers = {o.submission_event_id: o for o in outcomes(records)}
    refused = answers[impostor.envelope.event_id]
    assert refused.status is OutcomeStatus.REJECTED
    assert (refused.code, refused.message) == (rejection.code, rejection.message)
    assert answers[claim.envelope.event_id].status is OutcomeStatus.ACCEPTED
    steps = [r.event.event_type for r in case_log(records, "case-who-1") if r.event]
    assert [s for s in steps if not s.startswith("Deadline")] == [
        "CaseReported",
        "CaseAccepted",
        "CaseDispatched",
        "CaseClaimed",
    ]
