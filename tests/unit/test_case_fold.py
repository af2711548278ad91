"""The case read model's fold: one canonical case event (its Avro datum) at a time gives the
row, its deadlines and its trace.

The canonical streams come from the pure workflow itself (``decide`` then ``evolve`` over the
small reference world of ``test_reference_view``) and each event goes through fastavro with its
current schema, so the folds see exactly what the projector decodes. The ``Case`` driver and
the folding helpers are shared with the statistics and batch tests.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import fastavro
import pytest

from domain.calendar import working_hours_between
from domain.case_fold import CaseRow, CaseStep, fold_case
from domain.case_state import CaseState, evolve
from domain.deadline_rows import DeadlineRow, deadline_status
from domain.decisions import Accepted
from domain.errors import CorruptStream
from domain.reference_view import ReferenceView
from domain.state_machine import decide, due_signals, signal_submission
from events.models import Event, model_for
from projections.tables import READ_MODELS
from schemas.catalog import load_catalog
from tests.unit.test_reference_view import (
    DISTRICT,
    GRID,
    GRID_2,
    LAW,
    MARKET,
    REF,
    REGRID,
    STREET,
    VILLAGE,
    VILLAGE_2,
    WORKER,
    WORKER_2,
    sh,
    world_events,
)
from tests.unit.test_state_machine import CENTRE, FIELDS

Datum = dict[str, Any]

# --- the reference world (shared with the state-machine tests) ------------------------------
WORLD = REF  # GRID_2 moves from VILLAGE to VILLAGE_2 on REGRID
BEFORE_REGRID = ReferenceView().apply_all(
    e for e in world_events() if getattr(e, "effective_from", None) != REGRID
)
CALENDARS_ONLY = ReferenceView().apply_all(
    e for e in world_events() if e.event_type == "CalendarDefined"
)
CAL = WORLD.calendar()
CATEGORY = FIELDS["CaseReported"]["category_code"]
TITLE = FIELDS["CaseReported"]["title"]


def hours(a: datetime, b: datetime) -> float:
    return working_hours_between(CAL, a, b)


# --- Avro datums -----------------------------------------------------------------------------
@cache
def _schema(event_type: str) -> Any:
    return fastavro.parse_schema(load_catalog().current(event_type).schema)


def datum(event: Event) -> Datum:
    """``event`` written and read back with its current Avro schema: what the projector sees."""
    schema = _schema(event.event_type)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, event.model_dump())
    buffer.seek(0)
    return fastavro.schemaless_reader(buffer, schema, schema)  # type: ignore[return-value]


def resequenced(d: Datum, sequence: int | None) -> Datum:
    """A copy of ``d`` with another envelope sequence."""
    return {**d, "envelope": {**d["envelope"], "sequence": sequence}}


# --- one case driven through the pure workflow ------------------------------------------------
DEPARTMENT_EVENTS = {
    "CaseClaimed",
    "HandoffRequested",
    "CaseReturned",
    "CaseResolved",
    "CaseSuspended",
    "CaseResumed",
}


@dataclass
class Case:
    """One case driven through ``decide`` and ``evolve``; ``log`` is its canonical stream."""

    case_id: str = "case-2025-000123"
    ref: ReferenceView = WORLD
    state: CaseState | None = None
    log: list[Event] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def do(
        self,
        event_type: str,
        at: datetime,
        *,
        actor: tuple[str, str] | None = None,
        recorded: datetime | None = None,
        source: str | None = None,
        **fields: Any,
    ) -> tuple[Event, ...]:
        """Submit ``event_type`` at ``at``; the canonical events it appended (a ruling on
        the case's pending hand-off request unless it names another)."""
        if event_type == "HandoffRuled" and self.state is not None:
            fields.setdefault("request_id", self.state.handoff_pending or "no-request")
        if actor is None:
            actor = CENTRE
            if event_type == "CaseReported":
                actor = (WORKER, "grid_worker")
            elif event_type in DEPARTMENT_EVENTS:
                dept = fields.get("department_code") or fields.get("from_department")
                actor = (
                    dept or (self.state.department if self.state else None) or LAW,
                    "department",
                )
            elif event_type == "CaseVerified":
                actor = (fields.get("worker_id", WORKER), "grid_worker")
        envelope = {
            "event_id": f"{self.case_id}/sub-{next(self._ids)}",
            "event_time": at,
            "recorded_time": recorded or at + timedelta(minutes=1),
            "source_system": source or ("gridapp" if actor[1] == "grid_worker" else actor[0]),
            "actor": {"id": actor[0], "role": actor[1]},
        }
        submission = model_for(event_type).model_validate(
            {"envelope": envelope, "case_id": self.case_id, **FIELDS[event_type], **fields}
        )
        return self._apply(decide(self.state, submission, self.ref))

    def signal(self, now: datetime) -> tuple[Event, ...]:
        """Whatever deadline signals the SLA trigger would submit at ``now``."""
        assert self.state is not None
        out: list[Event] = []
        for due in due_signals(self.state, now, self.ref):
            submission = signal_submission(self.case_id, due, now)
            out += self._apply(decide(self.state, submission, self.ref))
        return tuple(out)

    def _apply(self, decision: object) -> tuple[Event, ...]:
        assert isinstance(decision, Accepted), decision
        for event in decision.events:
            self.state = evolve(self.state, event)  # type: ignore[arg-type]
            self.log.append(event)
        return decision.events

    def records(self) -> list[tuple[str, Datum]]:
        """The canonical stream as (event type, Avro datum)."""
        return [(e.event_type, datum(e)) for e in self.log]


MON = (2025, 3, 3)  # a Monday; Tuesday 4 March is a working day too
TUE = (2025, 3, 4)


def in_progress(case_id: str = "case-2025-000123", **report: Any) -> Case:
    """Reported Monday 09:00, dispatched to LAW at 10:00, claimed at 11:00."""
    case = Case(case_id)
    case.do("CaseReported", sh(*MON, 9, 0), **report)
    case.do("CaseAccepted", sh(*MON, 9, 30))
    case.do("CaseDispatched", sh(*MON, 10, 0))
    case.do("CaseClaimed", sh(*MON, 11, 0))
    return case


def closed_case(case_id: str = "case-2025-000123", **report: Any) -> Case:
    """The whole closed loop: ``in_progress``, resolved Tuesday 10:00 … evaluated at 14:00."""
    case = in_progress(case_id, **report)
    case.do("CaseResolved", sh(*TUE, 10, 0))
    case.do("CaseVerified", sh(*TUE, 11, 0))
    case.do("CaseClosed", sh(*TUE, 11, 30))
    case.do("CaseEvaluated", sh(*TUE, 14, 0), satisfaction=4)
    return case


def busy_case(case_id: str = "case-2025-000123") -> Case:
    """Every kind of step: a transfer to MARKET, an extension, a pause, a spell on the
    backlog, an escalation, a
    failed verification and its rework, closing, evaluation and a reopening."""
    case = in_progress(case_id)
    market = (MARKET, "department")
    case.do("CaseTransferred", sh(*MON, 12, 0))
    case.do("CaseClaimed", sh(*MON, 14, 0), department_code=MARKET)
    case.do("CaseExtended", sh(*MON, 14, 30), actor=market)
    case.do("CaseSuspended", sh(*MON, 15, 0), actor=market)
    case.do("CaseResumed", sh(*MON, 16, 0), actor=market)
    case.do("CaseParked", sh(*MON, 16, 10), review_date=date(2025, 3, 31))
    case.do("CaseUnparked", sh(*MON, 16, 20))
    case.do("CaseEscalated", sh(*MON, 16, 30))
    case.do("CaseResolved", sh(*TUE, 9, 0), department_code=MARKET)
    case.do("CaseVerified", sh(*TUE, 10, 0), passed=False)
    case.do("CaseResolved", sh(*TUE, 11, 0), department_code=MARKET)
    case.do("CaseVerified", sh(*TUE, 14, 0))
    case.do("CaseClosed", sh(*TUE, 14, 30))
    case.do("CaseEvaluated", sh(*TUE, 15, 0), satisfaction=5)
    case.do("CaseReopened", sh(*TUE, 16, 0))
    return case


# --- folding ---------------------------------------------------------------------------------
@dataclass
class Folded:
    """A stream folded: the last row and deadlines, and every step."""

    row: CaseRow | None = None
    deadlines: tuple[DeadlineRow, ...] = ()
    steps: list[CaseStep] = field(default_factory=list)

    def feed(self, event_type: str, d: Datum, ref: ReferenceView = WORLD) -> CaseStep | None:
        step = fold_case(self.row, self.deadlines, event_type, d, ref)
        if step is not None:
            self.row, self.deadlines = step.after, step.deadlines
            self.steps.append(step)
        return step

    def deadline(self, stage: str, nth: int = -1) -> DeadlineRow:
        return [d for d in self.deadlines if d.stage == stage][nth]

    @property
    def r(self) -> CaseRow:
        assert self.row is not None
        return self.row


def fold(records: Iterable[tuple[str, Datum]], ref: ReferenceView = WORLD) -> Folded:
    out = Folded()
    for event_type, d in records:
        assert out.feed(event_type, d, ref) is not None
    return out


# --- the closed loop -------------------------------------------------------------------------
def test_the_closed_loop_gives_every_stage_time_and_the_summary_fields() -> None:
    case = closed_case(visit_id="visit-001")
    f = fold(case.records())
    row = f.r
    assert (row.case_id, row.status, row.department_code) == (case.case_id, "closed", LAW)
    assert (row.category_code, row.priority, row.channel) == (CATEGORY, "normal", "grid_visit")
    assert (row.grid_id, row.village_code, row.street_code, row.district_code) == (
        GRID,
        VILLAGE,
        STREET,
        DISTRICT,
    )
    assert (row.reporter_id, row.reporter_role) == (WORKER, "grid_worker")
    assert row.visit_id == "visit-001"
    assert row.reported_at == sh(*MON, 9, 0)
    assert row.accepted_at == sh(*MON, 9, 30)
    assert row.first_dispatched_at == row.dispatched_at == sh(*MON, 10, 0)
    assert row.claimed_at == sh(*MON, 11, 0)
    assert row.resolved_at == sh(*TUE, 10, 0)
    assert row.verified_at == sh(*TUE, 11, 0)
    assert row.closed_at == sh(*TUE, 11, 30)
    assert row.evaluated_at == sh(*TUE, 14, 0)
    assert row.rejected_at is None
    assert row.satisfaction == 4
    # Mon 10:00–12:00 and 13:30–17:30, Tue 08:30–10:00 (the shipped 2025 working day)
    assert row.handling_hours == 7.5
    assert row.on_time is True
    assert (row.verifications, row.verifications_passed) == (1, 1)
    assert (row.transfers, row.returns, row.reworks, row.reopens) == (0, 0, 0, 0)
    assert (row.extensions, row.escalations, row.suspended_hours) == (0, 0, 0.0)
    assert row.last_sequence == len(case.log) == 11  # 8 steps and 3 DeadlineScheduled
    assert row.last_event_time == sh(*TUE, 14, 0)


def test_the_status_follows_the_lifecycle_and_derived_events_keep_it() -> None:
    f = fold(closed_case().records())
    assert [(s.timeline.event_type, s.after.status) for s in f.steps] == [
        ("CaseReported", "reported"),
        ("CaseAccepted", "accepted"),
        ("CaseDispatched", "dispatched"),
        ("DeadlineScheduled", "dispatched"),
        ("CaseClaimed", "in_progress"),
        ("DeadlineScheduled", "in_progress"),
        ("CaseResolved", "resolved"),
        ("DeadlineScheduled", "resolved"),
        ("CaseVerified", "verified"),
        ("CaseClosed", "closed"),
        ("CaseEvaluated", "closed"),
    ]
    assert [s.before for s in f.steps[1:]] == [s.after for s in f.steps[:-1]]
    assert f.steps[0].before is None


def test_each_stage_deadline_is_met_when_its_work_is_done_in_time() -> None:
    f = fold(closed_case().records())
    assert [(d.stage, d.status) for d in f.deadlines] == [
        ("claim", "met"),
        ("handle", "met"),
        ("verify", "met"),
    ]
    claim = f.deadline("claim")
    # 8 working hours from Mon 10:00: 2 + 4 on Monday, 2 on Tuesday from 08:30
    assert (claim.started_at, claim.due_time) == (sh(*MON, 10, 0), sh(*TUE, 10, 30))
    assert claim.done_at == sh(*MON, 11, 0)
    assert claim.lateness_hours == -7.0  # done with 7 working hours to spare
    assert (claim.department_code, claim.district_code) == (LAW, DISTRICT)
    assert (claim.policy_id, claim.policy_version, claim.working_hours) == ("sla.default", 1, 8)
    assert claim.calendar_version == "2025.1"
    assert all(d.lateness_hours is not None and d.lateness_hours < 0 for d in f.deadlines)
    assert not any(d.cancelled or d.paused for d in f.deadlines)


def test_a_dispatch_opens_a_claim_deadline_in_the_changed_set() -> None:
    case = in_progress()
    f = fold(case.records()[:3])  # reported, accepted, dispatched
    assert f.deadlines == ()
    step = f.feed(*case.records()[3])  # DeadlineScheduled claim
    assert step is not None
    assert [d.stage for d in step.changed_deadlines] == ["claim"]
    assert step.deadlines[0].status == "open"
    step = f.feed(*case.records()[4])  # CaseClaimed settles it
    assert step is not None
    assert [(d.stage, d.status) for d in step.changed_deadlines] == [("claim", "met")]


def test_a_rejected_case_is_rejected_with_its_time() -> None:
    case = Case()
    case.do("CaseReported", sh(*MON, 9, 0))
    case.do("CaseRejected", sh(*MON, 9, 45))
    f = fold(case.records())
    assert (f.r.status, f.r.rejected_at, f.r.accepted_at) == ("rejected", sh(*MON, 9, 45), None)


def test_acceptance_may_reclassify_and_reprioritise() -> None:
    case = Case()
    case.do("CaseReported", sh(*MON, 9, 0), priority="normal")
    case.do("CaseAccepted", sh(*MON, 9, 30), priority="urgent")
    f = fold(case.records())
    assert (f.r.category_code, f.r.priority) == (CATEGORY, "urgent")


# --- hand-offs, extensions, suspension --------------------------------------------------------
def test_a_transfer_counts_moves_the_department_and_cancels_the_open_deadline() -> None:
    case = in_progress()
    case.do("CaseTransferred", sh(*MON, 14, 0))
    f = fold(case.records())
    assert (f.r.status, f.r.department_code, f.r.transfers) == ("dispatched", MARKET, 1)
    assert f.r.dispatched_at == sh(*MON, 14, 0)
    assert f.r.first_dispatched_at == sh(*MON, 10, 0)
    assert f.deadline("handle").status == "cancelled"
    new_claim = f.deadline("claim")
    assert (new_claim.status, new_claim.department_code) == ("open", MARKET)
    assert new_claim.started_at == sh(*MON, 14, 0)
    assert f.deadline("claim", 0).status == "met"  # settled before the transfer: stays met


def test_a_transfer_while_dispatched_cancels_the_claim_deadline() -> None:
    case = Case()
    case.do("CaseReported", sh(*MON, 9, 0))
    case.do("CaseAccepted", sh(*MON, 9, 30))
    case.do("CaseDispatched", sh(*MON, 10, 0))
    case.do("CaseTransferred", sh(*MON, 10, 30))
    case.do(
        "CaseTransferred",
        sh(*MON, 11, 0),
        from_department=MARKET,
        to_department=LAW,
    )
    f = fold(case.records())
    assert (f.r.department_code, f.r.transfers) == (LAW, 2)
    assert [d.status for d in f.deadlines] == ["cancelled", "cancelled", "open"]
    assert [d.department_code for d in f.deadlines] == [LAW, MARKET, LAW]


def test_a_return_clears_the_department_and_a_new_dispatch_sets_it_again() -> None:
    case = in_progress()
    case.do("CaseReturned", sh(*MON, 14, 0))
    f = fold(case.records())
    assert (f.r.status, f.r.department_code, f.r.returns) == ("accepted", None, 1)
    assert f.deadline("handle").status == "cancelled"
    case.do("CaseDispatched", sh(*MON, 15, 0), department_code=MARKET)
    f = fold(case.records())
    assert (f.r.status, f.r.department_code) == ("dispatched", MARKET)
    assert f.r.first_dispatched_at == sh(*MON, 10, 0)
    assert f.r.dispatched_at == sh(*MON, 15, 0)


def test_extensions_count_and_move_the_same_deadline() -> None:
    case = in_progress()
    before = fold(case.records()).deadline("handle")
    case.do("CaseExtended", sh(*MON, 15, 0))
    case.do("CaseExtended", sh(*MON, 16, 0), extra_working_hours=8)
    f = fold(case.records())
    assert (f.r.extensions, f.r.extended_hours, f.r.status) == (2, 24, "in_progress")
    handle = [d for d in f.deadlines if d.stage == "handle"]
    assert len(handle) == 1 and handle[0].deadline_id == before.deadline_id
    assert handle[0].working_hours == 40 + 24
    assert hours(before.due_time, handle[0].due_time) == 24
    assert handle[0].status == "open"


def test_suspension_pauses_the_open_deadline_and_resuming_adds_the_working_hours() -> None:
    case = in_progress()
    case.do("CaseSuspended", sh(*MON, 14, 0))
    f = fold(case.records())
    assert (f.r.status, f.r.suspended_since) == ("suspended", sh(*MON, 14, 0))
    assert [(d.stage, d.status) for d in f.deadlines] == [("claim", "met"), ("handle", "paused")]
    due_before = f.deadline("handle").due_time

    case.do("CaseResumed", sh(*TUE, 9, 30))
    f = fold(case.records())
    assert (f.r.status, f.r.suspended_since) == ("in_progress", None)
    assert f.r.suspended_hours == 4.5  # Mon 14:00–17:30, Tue 08:30–09:30
    assert f.deadline("handle").status == "open"
    assert hours(due_before, f.deadline("handle").due_time) == 4.5  # the re-issued due time

    case.do("CaseResolved", sh(*TUE, 15, 0))
    f = fold(case.records())
    # dispatch Mon 10:00 → resolve Tue 15:00 is 11 working hours, 4.5 of them suspended
    assert f.r.handling_hours == 6.5
    assert f.r.on_time is True


def test_a_suspension_outside_working_time_adds_nothing() -> None:
    case = in_progress()
    case.do("CaseSuspended", sh(*MON, 18, 0))
    case.do("CaseResumed", sh(*TUE, 8, 0))
    f = fold(case.records())
    assert f.r.suspended_hours == 0.0
    assert f.deadline("handle").status == "open"


def test_suspended_hours_add_up_over_several_pauses() -> None:
    case = in_progress()
    case.do("CaseSuspended", sh(*MON, 14, 0))
    case.do("CaseResumed", sh(*MON, 15, 0))
    case.do("CaseSuspended", sh(*TUE, 9, 0))
    case.do("CaseResumed", sh(*TUE, 11, 0))
    f = fold(case.records())
    assert f.r.suspended_hours == 3.0


def test_an_escalation_raises_the_level_and_keeps_the_status() -> None:
    case = in_progress()
    case.do("CaseEscalated", sh(*MON, 12, 0))
    f = fold(case.records())
    assert (f.r.escalation_level, f.r.escalations, f.r.status) == ("district", 1, "in_progress")


# --- verification and rework -----------------------------------------------------------------
def test_a_failed_verification_sends_the_case_back_to_work() -> None:
    case = in_progress()
    case.do("CaseResolved", sh(*TUE, 10, 0))
    case.do("CaseVerified", sh(*TUE, 11, 0), passed=False)
    f = fold(case.records())
    assert (f.r.status, f.r.reworks, f.r.reopens) == ("in_progress", 1, 0)
    assert (f.r.verifications, f.r.verifications_passed, f.r.verified_at) == (1, 0, None)
    assert f.deadline("verify").status == "met"  # the check itself was done in time
    assert f.deadline("handle").status == "open"  # the rework's deadline
    assert len([d for d in f.deadlines if d.stage == "handle"]) == 2

    case.do("CaseResolved", sh(*TUE, 15, 0))
    case.do("CaseVerified", sh(*TUE, 16, 0))
    f = fold(case.records())
    assert (f.r.status, f.r.verifications, f.r.verifications_passed) == ("verified", 2, 1)
    assert f.r.verified_at == sh(*TUE, 16, 0)
    assert f.r.resolved_at == sh(*TUE, 15, 0)
    assert f.r.handling_hours == hours(sh(*MON, 10, 0), sh(*TUE, 15, 0)) == 11.0


def test_a_reopened_closed_case_counts_a_reopen_and_a_rework() -> None:
    case = closed_case()
    case.do("CaseReopened", sh(*TUE, 15, 0))
    f = fold(case.records())
    assert (f.r.status, f.r.reopens, f.r.reworks) == ("in_progress", 1, 1)
    assert f.deadline("handle").status == "open"
    assert f.deadline("handle").started_at == sh(*TUE, 15, 0)


def test_reopening_a_resolved_case_cancels_its_verification_deadline() -> None:
    case = in_progress()
    case.do("CaseResolved", sh(*TUE, 10, 0))
    case.do("CaseReopened", sh(*TUE, 10, 30), reason="failed_verification")
    f = fold(case.records())
    assert (f.r.status, f.r.reopens, f.r.reworks) == ("in_progress", 1, 1)
    assert f.deadline("verify").status == "cancelled"


# --- what the fold refuses -------------------------------------------------------------------
def test_a_re_sent_event_is_recognised_and_changes_nothing() -> None:
    records = closed_case().records()
    f = fold(records[:5])
    for event_type, d in records[:5]:
        assert fold_case(f.row, f.deadlines, event_type, d, WORLD) is None
    assert f.feed(*records[5]) is not None


def test_a_gap_in_the_sequence_is_a_corrupt_stream() -> None:
    records = closed_case().records()
    f = fold(records[:3])
    event_type, d = records[4]
    with pytest.raises(CorruptStream, match="gap"):
        fold_case(f.row, f.deadlines, event_type, d, WORLD)


def test_only_a_report_starts_a_case() -> None:
    event_type, d = closed_case().records()[1]
    with pytest.raises(CorruptStream, match="cannot start a case"):
        fold_case(None, (), event_type, resequenced(d, 1), WORLD)


def test_a_first_event_after_sequence_one_is_a_corrupt_stream() -> None:
    event_type, d = closed_case().records()[0]
    with pytest.raises(CorruptStream):
        fold_case(None, (), event_type, resequenced(d, 2), WORLD)


def test_an_event_without_a_sequence_is_a_corrupt_stream() -> None:
    records = closed_case().records()
    f = fold(records[:2])
    with pytest.raises(CorruptStream, match="no sequence"):
        fold_case(f.row, f.deadlines, records[2][0], resequenced(records[2][1], None), WORLD)


@pytest.mark.parametrize(
    "event_type", ["CaseClaimed", "CaseClosed", "CaseResolved", "CaseReported"]
)
def test_an_impossible_transition_is_a_corrupt_stream(event_type: str) -> None:
    records = closed_case().records()
    f = fold(records[:2])  # accepted
    d = next(d for t, d in records if t == event_type)
    with pytest.raises(CorruptStream):
        fold_case(f.row, f.deadlines, event_type, resequenced(d, 3), WORLD)


def test_a_signal_for_an_unknown_deadline_is_a_corrupt_stream() -> None:
    case2 = Case("case-2")
    case2.do("CaseReported", sh(*MON, 9, 0))
    case2.do("CaseAccepted", sh(*MON, 9, 30))
    case2.do("CaseDispatched", sh(*MON, 10, 0))
    warned = case2.signal(sh(*TUE, 9, 0))
    assert [e.event_type for e in warned] == ["DeadlineWarned"]
    f = fold(case2.records()[:3])  # its DeadlineScheduled left out
    d = resequenced(datum(warned[0]), 4)
    with pytest.raises(CorruptStream, match="unknown deadline"):
        fold_case(f.row, f.deadlines, "DeadlineWarned", d, WORLD)


# --- deadline states -------------------------------------------------------------------------
def test_a_claim_deadline_goes_open_warned_breached_and_stays_breached_when_done_late() -> None:
    case = Case()
    case.do("CaseReported", sh(*MON, 9, 0))
    case.do("CaseAccepted", sh(*MON, 9, 30))
    case.do("CaseDispatched", sh(*MON, 10, 0))  # claim due Tue 10:30, warned 2 h before
    f = fold(case.records())
    assert f.deadline("claim").status == "open"

    assert [e.event_type for e in case.signal(sh(*TUE, 9, 0))] == ["DeadlineWarned"]
    f = fold(case.records())
    assert f.deadline("claim").status == "warned"
    assert f.deadline("claim").warned_at == sh(*TUE, 8, 30)  # when it fell due, not noticed
    assert f.r.status == "dispatched"

    assert [e.event_type for e in case.signal(sh(*TUE, 11, 0))] == ["DeadlineBreached"]
    f = fold(case.records())
    assert f.deadline("claim").status == "breached"
    assert f.deadline("claim").breached_at == sh(*TUE, 10, 30)

    case.do("CaseClaimed", sh(*TUE, 14, 30))
    f = fold(case.records())
    claim = f.deadline("claim")
    assert (claim.status, claim.done_at) == ("breached", sh(*TUE, 14, 30))
    assert claim.lateness_hours == 2.5  # Tue 10:30–12:00 and 13:30–14:30

    case.do("CaseResolved", sh(*TUE, 16, 0))
    f = fold(case.records())
    assert f.r.on_time is False  # a stage of its handling was late


def test_a_handle_deadline_done_late_without_signals_is_breached_and_the_case_late() -> None:
    case = in_progress()  # handle: 40 working hours (5 + 4 × 7.5 + 5) from Mon 11:00
    due = fold(case.records()).deadline("handle").due_time
    assert due == sh(2025, 3, 10, 15, 0)
    case.do("CaseResolved", sh(2025, 3, 10, 17, 0))
    f = fold(case.records())
    handle = f.deadline("handle")
    assert (handle.status, handle.lateness_hours) == ("breached", 2.0)
    assert handle.breached_at == due  # no signal needed to know it was late
    assert f.r.on_time is False


def test_deadline_status_of_each_state() -> None:
    d = DeadlineRow(
        deadline_id="d",
        case_id="c",
        stage="handle",
        started_at=sh(*MON, 9, 0),
        due_time=sh(*TUE, 9, 0),
        working_hours=8,
        policy_id="p",
        policy_version=1,
        calendar_version="2025.1",
        department_code=LAW,
        district_code=DISTRICT,
    )
    warned = replace(d, warned_at=sh(*MON, 17, 0))
    breached = replace(warned, breached_at=sh(*TUE, 9, 0))
    assert [deadline_status(x) for x in (d, warned, breached)] == ["open", "warned", "breached"]
    assert deadline_status(replace(breached, paused=True)) == "paused"
    assert deadline_status(replace(breached, done_at=sh(*TUE, 9, 0))) == "met"  # on the dot
    assert deadline_status(replace(d, done_at=sh(*TUE, 9, 1))) == "breached"
    assert deadline_status(replace(d, done_at=sh(*TUE, 9, 1), cancelled=True)) == "cancelled"


def test_the_deadlines_table_keeps_each_deadlines_status() -> None:
    assert "status" in READ_MODELS["deadlines"].column_names
    case = in_progress()
    case.signal(sh(2025, 3, 10, 15, 0))
    f = fold(case.records())
    assert [(x.stage, x.status) for x in f.deadlines] == [("claim", "met"), ("handle", "breached")]
    assert all(x.status == deadline_status(x) for step in f.steps for x in step.deadlines)
    case.do("CaseSuspended", sh(2025, 3, 10, 16, 0))
    assert fold(case.records()).deadline("handle").status == "paused"


# --- the trace -------------------------------------------------------------------------------
def test_the_timeline_says_who_did_what_when_and_from_which_system() -> None:
    case = Case()
    case.do("CaseReported", sh(*MON, 9, 0))
    case.do("CaseAccepted", sh(*MON, 9, 30))
    case.do("CaseDispatched", sh(*MON, 10, 0), recorded=sh(*MON, 10, 5), source="command-centre")
    f = fold(case.records())
    dispatched = f.steps[2].timeline
    assert dispatched.case_id == case.case_id
    assert (dispatched.sequence, dispatched.event_type) == (3, "CaseDispatched")
    assert dispatched.event_id == case.log[2].envelope.event_id
    assert (dispatched.event_time, dispatched.recorded_time) == (sh(*MON, 10, 0), sh(*MON, 10, 5))
    assert (dispatched.actor_id, dispatched.actor_role) == CENTRE
    assert dispatched.source_system == "command-centre"
    assert dispatched.summary == f"dispatched to {LAW}"

    reported, scheduled = f.steps[0].timeline, f.steps[3].timeline
    assert reported.summary == f"reported via grid_visit: {TITLE}"
    assert (reported.actor_id, reported.actor_role, reported.source_system) == (
        WORKER,
        "grid_worker",
        "gridapp",
    )
    assert (scheduled.actor_role, scheduled.source_system) == ("system", "fengqiao-workflow")
    assert scheduled.recorded_time == sh(*MON, 10, 5)  # the cause's
    assert scheduled.summary == (
        "claim due 2025-03-04 02:30 UTC (8 working hours, policy sla.default v1)"
    )


def test_every_event_type_has_a_readable_summary() -> None:
    case = busy_case()
    summaries = [
        s.timeline.summary
        for s in fold(case.records()).steps
        if s.timeline.event_type != "DeadlineScheduled"
    ]
    assert summaries == [
        f"reported via grid_visit: {TITLE}",
        "accepted",
        f"dispatched to {LAW}",
        f"claimed by {LAW}",
        f"transferred {LAW} → {MARKET}: 涉及食品",
        f"claimed by {MARKET}",
        "handle extended by 16 working hours",
        "suspended: 等待鉴定结果",
        "resumed",
        "parked (挂账) until review on 2025-03-31: 需纳入明年改造计划",
        "off the backlog: 改造资金已落实",
        "escalated street → district: 街道无法协调",
        f"resolved by {MARKET}: 已劝离摊贩",
        "failed verification by worker-042",
        f"resolved by {MARKET}: 已劝离摊贩",
        "verified on site by worker-042",
        "closed",
        "evaluated 5/5",
        "reopened (resident_complaint)",
    ]


def test_a_long_summary_is_cut_to_the_column() -> None:
    case = in_progress()
    case.do("CaseTransferred", sh(*MON, 12, 0), reason="涉" * 1000)
    summary = fold(case.records()).steps[-2].timeline.summary
    assert summary.startswith(f"transferred {LAW} → {MARKET}: 涉")
    assert len(summary) == 500


# --- places as they were when the case was reported -----------------------------------------
def _report_on_grid_2(at: datetime) -> Case:
    case = Case(f"case-g2-{at:%m%d%H%M}")
    case.do("CaseReported", at, grid_id=GRID_2, actor=(WORKER_2, "grid_worker"))
    return case


def test_a_case_keeps_the_parents_in_force_when_it_was_reported() -> None:
    before = _report_on_grid_2(sh(2025, 6, 30, 23, 30))
    after = _report_on_grid_2(sh(2025, 7, 1, 0, 30))  # 2025-06-30T16:30Z: already 1 July there
    assert fold(before.records()).r.village_code == VILLAGE
    assert fold(after.records()).r.village_code == VILLAGE_2
    assert fold(after.records()).r.street_code == STREET
    assert fold(after.records()).r.district_code == DISTRICT


def test_a_later_regridding_does_not_move_an_earlier_case() -> None:
    case = _report_on_grid_2(sh(2025, 6, 20, 9, 0))
    f = Folded()
    f.feed(*case.records()[0], ref=BEFORE_REGRID)  # folded live, before the re-gridding
    assert f.r.village_code == VILLAGE
    case.do("CaseAccepted", sh(2025, 7, 2, 9, 0))
    case.do("CaseDispatched", sh(2025, 7, 2, 10, 0))
    for record in case.records()[1:]:  # then the re-gridding was published
        f.feed(*record, ref=WORLD)
    assert (f.r.village_code, f.r.status) == (VILLAGE, "dispatched")
    assert fold(case.records(), ref=WORLD).r == f.r  # and a replay agrees


def test_a_grid_unknown_to_the_view_leaves_the_parents_empty() -> None:
    case = closed_case()
    f = fold(case.records()[:1], ref=CALENDARS_ONLY)
    assert (f.r.grid_id, f.r.village_code, f.r.street_code, f.r.district_code) == (
        GRID,
        None,
        None,
        None,
    )


# --- the datums are what the projector sees --------------------------------------------------
def test_datums_have_aware_utc_times_and_enums_as_strings() -> None:
    d = closed_case().records()[0][1]
    assert d["envelope"]["event_time"].tzinfo is not None
    assert d["envelope"]["event_time"].utcoffset() == timedelta(0)
    assert type(d["priority"]) is str and type(d["channel"]) is str
    assert type(d["envelope"]["actor"]["role"]) is str
    assert d["envelope"]["sequence"] == 1
