"""The answer each sample got, and whether it is the one it expected: pure rules.

An answer is the gateway's refusal (its problem body: 422 invalid, 403 forbidden) or the
workflow's outcome (accepted with the case's sequence, rejected with a code and a message).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from events.conformance.samples import Expectation, Kind, Sample
from events.outcomes import Outcome

__all__ = ["Answer", "Verdict", "answer_of_outcome", "answer_of_problem", "meets", "summary"]

_KIND_OF_STATUS = {422: Kind.invalid, 403: Kind.forbidden}


@dataclass(frozen=True)
class Answer:
    """What became of one sample."""

    kind: Kind
    status: int  # the HTTP status the gateway answers the POST with (202 once Kafka has it)
    message: str = ""
    sequence: int | None = None  # accepted: its place in the case's (stream's) log
    code: str | None = None  # rejected: the workflow's code
    scope: str | None = None  # forbidden: the scope that refused
    errors: tuple[dict[str, Any], ...] = field(default=())  # invalid: every field at fault

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(str(e.get("field")) for e in self.errors)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": str(self.kind), "status": self.status}
        for name in ("sequence", "code", "scope"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.message:
            out["message"] = self.message
        if self.errors:
            out["errors"] = list(self.errors)
        return out


def answer_of_problem(body: dict[str, Any]) -> Answer:
    """The answer of a gateway refusal, from its problem+json body."""
    status = int(body["status"])
    kind = _KIND_OF_STATUS.get(status)
    if kind is None:
        raise ValueError(f"a submission's refusal is 422 or 403, not {status}")
    return Answer(
        kind,
        status,
        str(body.get("detail", "")),
        scope=body.get("parameter") if kind is Kind.forbidden else None,
        errors=tuple(body.get("errors") or ()),
    )


def answer_of_outcome(outcome: Outcome) -> Answer:
    """The answer of the workflow's outcome of a submission the gateway took (202)."""
    if outcome.accepted:
        return Answer(Kind.accepted, 202, sequence=outcome.sequence)
    return Answer(Kind.rejected, 202, outcome.message or "", code=outcome.code)


def meets(answer: Answer, expect: Expectation) -> bool:
    """Whether ``answer`` is the one ``expect`` asks for."""
    if answer.kind is not expect.kind:
        return False
    if expect.detail is None:
        return True
    if expect.kind is Kind.rejected:
        return answer.code == expect.detail
    if expect.kind is Kind.invalid:
        return expect.detail in answer.fields
    return answer.scope == expect.detail


@dataclass(frozen=True)
class Verdict:
    """A sample, the answer it got, and whether that was the expected one."""

    sample: Sample
    answer: Answer

    @property
    def passed(self) -> bool:
        return meets(self.answer, self.sample.expect)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sample": self.sample.where,
            "event_type": self.sample.event_type,
            "event_id": self.sample.event_id,
            "expect": str(self.sample.expect),
            "answer": self.answer.as_dict(),
            "passed": self.passed,
        }


def summary(verdicts: list[Verdict]) -> str:
    """``N samples: P as expected, F not (line 3, item 7)``."""
    failed = [v.sample.where for v in verdicts if not v.passed]
    head = f"{len(verdicts)} samples: {len(verdicts) - len(failed)} as expected"
    return head if not failed else f"{head}, {len(failed)} not ({', '.join(failed)})"
