"""The pure parts behind a case's page and its refused submissions: a refusal's row (its case,
or none for a visit's; a poison record's stream from its inbox), a refusal read again within a
batch kept once, late posts, deadline states and who may see a case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.deadline_rows import DeadlineRow
from events.models import Actor, ActorRole, Envelope, SubmissionRejected, to_avro
from projections.batch import Changes, Decoded, ProjectionState, fold_batch
from projections.panels.case_rules import case_in_scope, deadline_state, late_post
from projections.panels.scope import Scope, Unit
from projections.rejection_fold import rejection_row, stream_of

AT = datetime(2025, 6, 2, 1, 30, tzinfo=UTC)
TOPIC = "fq.rejections"


def refusal(
    submission_type: str, key: str, submission_id: str = "sub-1", code: str = "UNKNOWN_CASE"
) -> dict[str, Any]:
    event = SubmissionRejected(
        envelope=Envelope(
            event_id=f"rej-{submission_id}",
            event_time=AT,
            recorded_time=AT + timedelta(hours=3),
            source_system="fengqiao-workflow",
            actor=Actor(id="fengqiao", role=ActorRole.system),
            causation_id=submission_id,
        ),
        submission_event_id=submission_id,
        submission_type=submission_type,
        submission_key=key,
        submission_source_system="dept.fire",
        code=code,
        message="no such case",
    )
    return to_avro(event)


def test_a_refused_case_submission_belongs_to_its_case() -> None:
    row = rejection_row(refusal("CaseClaimed", "c-1"))
    assert (row.case_id, row.stream, row.submission_key, row.event_type) == (
        "c-1",
        "case",
        "c-1",
        "CaseClaimed",
    )
    assert (row.event_id, row.submission_event_id, row.code) == (
        "rej-sub-1",
        "sub-1",
        "UNKNOWN_CASE",
    )
    assert row.source_system == "dept.fire"  # the submitter's, not the workflow's
    assert (row.event_time, row.recorded_time) == (AT, AT + timedelta(hours=3))


def test_a_refused_visit_or_reference_submission_has_no_case() -> None:
    visit = rejection_row(refusal("VisitRecorded", "grid-7", code="GRID_NOT_EFFECTIVE"))
    assert (visit.case_id, visit.stream, visit.submission_key) == (None, "visit", "grid-7")
    place = rejection_row(refusal("PlaceDefined", "zhenhai"))
    assert (place.case_id, place.stream) == (None, "reference")


@pytest.mark.parametrize(
    ("submission_id", "stream"),
    [
        ("poison/fq.case.inbox/3/41", "case"),
        ("poison/fq.visit.inbox/0/7", "visit"),
        ("poison/fq.reference.inbox/0/1", "reference"),
        ("poison/elsewhere/0/1", None),
        ("sub-9", None),
    ],
)
def test_a_poison_record_s_refusal_is_placed_by_the_inbox_it_came_from(
    submission_id: str, stream: str | None
) -> None:
    assert stream_of("unknown", submission_id) == stream
    row = rejection_row(refusal("unknown", "c-2", submission_id, "POISON_RECORD"))
    assert row.case_id == ("c-2" if stream == "case" else None)


def test_a_refusal_read_twice_in_a_batch_is_kept_once_and_moves_the_position() -> None:
    first = refusal("CaseClaimed", "c-1")
    again = {**first, "message": "a later answer"}
    other = refusal("CaseClosed", "c-1", "sub-2")
    records = [
        Decoded("rejection", TOPIC, 4, 10 + i, "SubmissionRejected", d)
        for i, d in enumerate((first, again, other))
    ]
    changes = fold_batch(ProjectionState(), records)
    assert list(changes.rejections) == ["rej-sub-1", "rej-sub-2"]
    assert changes.rejections["rej-sub-1"].message == "no such case"  # the first stands
    assert (changes.applied, changes.duplicates) == (2, 1)
    assert changes.positions[(TOPIC, 4)].next_offset == 13
    assert changes.positions[(TOPIC, 4)].max_event_time == AT
    assert not changes.timeline and not changes.stats_rows  # a refusal counts nowhere


def test_a_refusal_recorded_after_an_as_of_replay_s_instant_is_left_out() -> None:
    record = Decoded("rejection", TOPIC, 0, 0, "SubmissionRejected", refusal("CaseClaimed", "c"))
    changes = fold_batch(ProjectionState(), [record], Changes(), until=AT + timedelta(hours=1))
    assert not changes.rejections and changes.positions[(TOPIC, 0)].next_offset == 1


def test_a_step_recorded_over_an_hour_late_is_a_late_post() -> None:
    assert not late_post(AT, AT)
    assert not late_post(AT, AT + timedelta(hours=1))
    assert late_post(AT, AT + timedelta(hours=1, seconds=1))


def _deadline(**kw: Any) -> dict[str, Any]:
    row = DeadlineRow(
        "d-1",
        "c-1",
        "claim",
        AT,
        AT + timedelta(hours=8),
        8,
        "standard",
        1,
        "cn-2025",
        "fire",
        "zhenhai",
    )
    return {**row.__dict__, **kw}


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({}, "open"),
        ({"warned_at": AT}, "warned"),
        ({"warned_at": AT, "breached_at": AT + timedelta(hours=8)}, "breached"),
        ({"paused": True, "breached_at": AT}, "paused"),
        ({"done_at": AT + timedelta(hours=1)}, "met"),
        ({"done_at": AT + timedelta(hours=9)}, "breached"),
        ({"cancelled": True, "done_at": AT}, "cancelled"),
    ],
)
def test_a_deadline_row_s_state(changes: dict[str, Any], state: str) -> None:
    assert deadline_state({**_deadline(**changes), "extra": "ignored"}) == state


CASE = {
    "district_code": "zhenhai",
    "street_code": "zhenhai-s001",
    "village_code": "zhenhai-s001-v06",
    "grid_id": "zhenhai-s001-v06-g13",
    "department_code": "fire",
}


@pytest.mark.parametrize(
    ("scope", "departments", "seen"),
    [
        (Scope(), (), True),
        (Scope(Unit("street", "zhenhai-s001")), (), True),
        (Scope(Unit("grid", "zhenhai-s001-v06-g13")), (), True),
        (Scope(Unit("village", "zhenhai-s001-v07")), (), False),
        (Scope(Unit("district", "beilun")), (), False),
        (Scope(department="fire"), (), True),
        (Scope(department="sanitation"), (), False),
        (Scope(department="sanitation"), ("sanitation", "fire"), True),  # held it before
        (Scope(Unit("district", "zhenhai"), "police"), ("fire",), False),
        (Scope(Unit("district", "beilun"), "fire"), (), False),
    ],
)
def test_who_may_see_a_case(scope: Scope, departments: tuple[str, ...], seen: bool) -> None:
    assert case_in_scope(CASE, departments, scope) is seen
