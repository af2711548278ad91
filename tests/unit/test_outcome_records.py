"""The outcome the workflow writes for one inbox record: who it is for, what it says, and an
event id and times that a record decided again (after a crash) gets again."""

from __future__ import annotations

from events.errors import DecodeError
from events.models import OutcomeStatus, SubmissionOutcome
from events.outcomes import Outcome
from processors.outputs import Source, outcome, poison_outcome
from processors.state_store import Answer
from tests.factories import example_event


def _source(offset: int, key: bytes | None = b"case-2025-000123") -> Source:
    return Source("fq.case.inbox", "p.fq.case.inbox", 3, offset, key, b"", 1_741_000_000.0)


def test_an_outcome_is_the_submitting_system_s_with_the_submission_s_times() -> None:
    claim = example_event("CaseClaimed")
    answered = outcome(_source(7), claim, OutcomeStatus.ACCEPTED, Answer(4, 2))
    env = claim.envelope
    assert answered.key() == env.source_system == answered.submission_source_system
    assert (answered.envelope.event_time, answered.envelope.recorded_time) == (
        env.event_time,
        env.recorded_time,
    )
    assert answered.envelope.causation_id == env.event_id
    assert answered.envelope.sequence is None
    assert (answered.inbox_topic, answered.inbox_partition, answered.inbox_offset) == (
        "p.fq.case.inbox",
        3,
        7,
    )
    assert (answered.submission_stream, answered.submission_type) == ("case", "CaseClaimed")
    assert (answered.sequence, answered.events, answered.code, answered.first_status) == (
        4,
        2,
        None,
        None,
    )


def test_what_the_workflow_builds_without_validation_is_valid() -> None:
    claim = example_event("CaseClaimed")
    refused = Answer(code="INVALID_TRANSITION", message="x" * 3000)
    bad = DecodeError("magic byte is 103, expected 0", b"garbage", "p.fq.case.inbox", 3, 11)
    built = [
        outcome(_source(1), claim, OutcomeStatus.ACCEPTED, Answer(4, 2)),
        outcome(_source(2), claim, OutcomeStatus.REJECTED, refused),
        outcome(_source(3), claim, OutcomeStatus.DUPLICATE, refused),
        poison_outcome(_source(4), bad),
    ]
    for answered in built:
        assert SubmissionOutcome.model_validate(answered.model_dump()) == answered


def test_each_record_has_its_own_outcome_id_and_the_same_record_the_same_one() -> None:
    claim = example_event("CaseClaimed")
    first = outcome(_source(7), claim, OutcomeStatus.ACCEPTED, Answer(4, 1))
    again = outcome(_source(7), claim, OutcomeStatus.ACCEPTED, Answer(4, 1))
    retry = outcome(_source(9), claim, OutcomeStatus.DUPLICATE, Answer(4, 1))
    assert first.envelope.event_id == again.envelope.event_id != retry.envelope.event_id
    assert first == again


def test_a_duplicate_carries_the_first_answer() -> None:
    claim = example_event("CaseClaimed")
    refused = Answer(code="INVALID_TRANSITION", message="case is reported")
    answered = outcome(_source(9), claim, OutcomeStatus.DUPLICATE, refused)
    assert (answered.status, answered.first_status) == (
        OutcomeStatus.DUPLICATE,
        OutcomeStatus.REJECTED,
    )
    assert (answered.code, answered.message, answered.sequence, answered.events) == (
        "INVALID_TRANSITION",
        "case is reported",
        None,
        0,
    )
    read = Outcome.of(answered)
    assert (read.accepted, read.duplicate, read.code) == (False, True, "INVALID_TRANSITION")
    accepted = Outcome.of(outcome(_source(9), claim, OutcomeStatus.DUPLICATE, Answer(4, 2)))
    assert (accepted.accepted, accepted.sequence, accepted.events) == (True, 4, 2)


def test_a_poison_record_is_answered_for_the_system_unknown() -> None:
    bad = DecodeError("magic byte is 103, expected 0", b"garbage", "p.fq.case.inbox", 3, 11)
    answered = poison_outcome(_source(11), bad)
    assert isinstance(answered, SubmissionOutcome)
    assert answered.key() == "unknown"
    assert (answered.status, answered.code) == (OutcomeStatus.REJECTED, "POISON_RECORD")
    assert answered.message is not None and "magic byte is 103" in answered.message
    assert answered.submission_key == "case-2025-000123"
    assert answered.submission_event_id == "poison/fq.case.inbox/3/11"
    unkeyed = poison_outcome(_source(12, key=None), bad)
    assert unkeyed.submission_key == "unknown"
    assert poison_outcome(_source(11), bad) == answered  # decided again: the same outcome
