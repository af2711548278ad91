"""The conformance kit's pure parts: reading a file of samples (NDJSON or a JSON array, each
with its expectation), judging an answer against it, and the fixtures it ships: every event
type of the catalog has one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import events.conformance
from events.conformance.samples import (
    Expectation,
    Kind,
    SampleFileError,
    parse_expectation,
    read_samples,
)
from events.conformance.verdicts import (
    Answer,
    Verdict,
    answer_of_outcome,
    answer_of_problem,
    meets,
    summary,
)
from events.gateway.intake import SUBMITTABLE
from events.models import MODELS
from events.outcomes import Outcome

FIXTURES = Path(events.conformance.__file__).parent / "fixtures"


def ndjson(*objects: Any) -> bytes:
    return "\n".join(json.dumps(o, ensure_ascii=False) for o in objects).encode()


def test_ndjson_lines_are_samples_with_their_expectation_taken_out_of_the_body() -> None:
    raw = ndjson({"event_type": "CaseClosed"}, {"event_type": "CaseClosed", "expect": "invalid:x"})
    first, second = read_samples(raw + b"\n\n")
    assert (first.where, first.expect, first.body) == (
        "line 1",
        Expectation(Kind.accepted),
        {"event_type": "CaseClosed"},
    )
    assert second.where == "line 2" and second.expect == Expectation(Kind.invalid, "x")
    assert "expect" not in second.body


def test_blank_lines_keep_the_line_numbers_of_the_file() -> None:
    (only,) = read_samples(b"\n  \n" + ndjson({"event_type": "CaseClosed"}))
    assert only.where == "line 3"


def test_a_json_array_is_read_whole_and_its_items_counted_from_one() -> None:
    raw = b'  [{"event_type": "CaseClosed"}, {"expect": "rejected:UNKNOWN_CASE"}, 7]'
    samples = read_samples(raw)
    assert [s.where for s in samples] == ["item 1", "item 2", "item 3"]
    assert samples[1].expect == Expectation(Kind.rejected, "UNKNOWN_CASE")
    assert samples[2].body == 7 and samples[2].event_type == "?" and samples[2].event_id is None


def test_a_line_that_is_not_json_is_named() -> None:
    raw = ndjson({"event_type": "CaseClosed"}) + b'\n\n{"event_type": \n'
    with pytest.raises(SampleFileError) as caught:
        read_samples(raw)
    assert caught.value.where == "line 3" and "not JSON" in str(caught.value)


def test_an_array_that_breaks_is_named_by_its_line() -> None:
    with pytest.raises(SampleFileError) as caught:
        read_samples(b'[\n {"event_type": "CaseClosed"},\n {"event_type": }\n]')
    assert caught.value.where == "line 3"


def test_invalid_utf8_is_named_by_its_line() -> None:
    with pytest.raises(SampleFileError) as caught:
        read_samples(b'{"a": 1}\n{"a": "\xff"}\n')
    assert caught.value.where == "line 2" and "UTF-8" in caught.value.reason


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(SampleFileError, match="no samples"):
        read_samples(b" \n\n")


@pytest.mark.parametrize("bad", ["accepted:1", "maybe", "rejected:", "", 3, None, ["accepted"]])
def test_an_expectation_outside_the_format_is_refused_with_the_sample(bad: object) -> None:
    with pytest.raises(ValueError, match="expect"):
        parse_expectation(bad)
    with pytest.raises(SampleFileError) as caught:
        read_samples(ndjson({"event_type": "CaseClosed"}, {"expect": bad}))
    assert caught.value.where == "line 2"


@pytest.mark.parametrize(
    "text", ["accepted", "rejected", "rejected:X", "invalid:envelope.event_time", "forbidden"]
)
def test_an_expectation_reads_back_as_written(text: str) -> None:
    assert str(parse_expectation(text)) == text


INVALID = answer_of_problem(
    {
        "status": 422,
        "detail": "breaks the contract",
        "errors": [{"field": "envelope.event_time", "rule": "timezone_aware"}],
    }
)
FORBIDDEN = answer_of_problem({"status": 403, "detail": "no", "parameter": "districts"})
ACCEPTED = answer_of_outcome(Outcome("e1", True, sequence=4))
REJECTED = answer_of_outcome(Outcome("e1", False, code="UNKNOWN_CASE", message="no case"))


@pytest.mark.parametrize(
    ("answer", "expect", "met"),
    [
        (ACCEPTED, "accepted", True),
        (ACCEPTED, "rejected", False),
        (REJECTED, "rejected", True),
        (REJECTED, "rejected:UNKNOWN_CASE", True),
        (REJECTED, "rejected:CASE_EXISTS", False),
        (REJECTED, "accepted", False),
        (INVALID, "invalid", True),
        (INVALID, "invalid:envelope.event_time", True),
        (INVALID, "invalid:envelope", False),
        (INVALID, "forbidden", False),
        (FORBIDDEN, "forbidden:districts", True),
        (FORBIDDEN, "forbidden:departments", False),
        (FORBIDDEN, "invalid", False),
    ],
)
def test_an_answer_meets_only_its_own_expectation(answer: Answer, expect: str, met: bool) -> None:
    assert meets(answer, parse_expectation(expect)) is met


def test_answers_say_what_the_gateway_and_the_workflow_said() -> None:
    assert ACCEPTED.as_dict() == {"kind": "accepted", "status": 202, "sequence": 4}
    assert REJECTED.as_dict()["code"] == "UNKNOWN_CASE"
    assert INVALID.fields == ("envelope.event_time",) and INVALID.status == 422
    assert FORBIDDEN.as_dict() == {
        "kind": "forbidden",
        "status": 403,
        "scope": "districts",
        "message": "no",
    }


def test_a_refusal_other_than_422_or_403_is_no_answer_to_a_sample() -> None:
    with pytest.raises(ValueError, match="503"):
        answer_of_problem({"status": 503, "detail": "Kafka"})


def test_the_summary_names_the_samples_not_answered_as_expected() -> None:
    samples = read_samples(ndjson({"expect": "accepted"}, {"expect": "rejected"}))
    verdicts = [Verdict(samples[0], ACCEPTED), Verdict(samples[1], ACCEPTED)]
    assert [v.passed for v in verdicts] == [True, False]
    assert summary(verdicts) == "2 samples: 1 as expected, 1 not (line 2)"
    assert verdicts[1].as_dict()["expect"] == "rejected"


def fixture_samples() -> list[tuple[str, Any, Expectation]]:
    found = []
    for path in sorted(FIXTURES.glob("*.ndjson")):
        found += [(path.name, s.body, s.expect) for s in read_samples(path.read_bytes())]
    return found


def test_every_event_type_of_the_catalog_has_a_fixture() -> None:
    covered = {body["event_type"] for _, body, _ in fixture_samples()}
    assert set(MODELS) - covered == set()


def test_every_submittable_type_has_an_accepted_and_an_invalid_fixture() -> None:
    kinds: dict[str, set[Kind]] = {}
    for _, body, expect in fixture_samples():
        kinds.setdefault(body["event_type"], set()).add(expect.kind)
    lacking = [t for t in SUBMITTABLE if not {Kind.accepted, Kind.invalid} <= kinds.get(t, set())]
    assert lacking == []


def test_the_types_no_system_may_submit_are_shown_refused_by_their_type() -> None:
    for _, body, expect in fixture_samples():
        if body["event_type"] not in SUBMITTABLE:
            assert expect == Expectation(Kind.invalid, "event_type"), body["event_type"]


def test_fixtures_leave_the_stamped_fields_out_except_to_show_the_refusal() -> None:
    for name, body, expect in fixture_samples():
        stamped = {"source_system", "recorded_time"} & set(body["envelope"])
        assert not stamped or expect.kind is Kind.invalid, (name, body["envelope"]["event_id"])


def test_the_sandbox_reference_set_is_fixed_and_holds_what_the_help_names() -> None:
    from infra.conformance import sandbox_reference

    first, again = sandbox_reference(), sandbox_reference()
    assert first == again
    named = {getattr(e, "code", None) for e in first} | {
        getattr(e, "worker_id", None) for e in first
    }
    grid = "haishu-s001-v01-g01"
    documented = {"haishu", "haishu-s001", "haishu-s001-v01", grid, "haishu-s001-v01-g02"}
    documented |= {f"l-{grid}", f"w-{grid}-1", f"w-{grid}-3", "law-enforcement", "appearance"}
    assert documented <= named
    assert any(getattr(e, "policy_id", None) == "standard" for e in first)
