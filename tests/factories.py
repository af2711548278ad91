"""Valid example events of every type, for unit and integration tests.

``example_data(event_type)`` is the raw dict (to break on purpose); ``example_event`` the
validated model. Overrides replace fields; an ``envelope`` override is merged into the
example envelope. Every call gets a fresh ``event_id``, so examples never collide on the
idempotency key; everything else is fixed, so tests are reproducible.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from events.models import Event, model_for

__all__ = ["T0", "example_data", "example_event"]

T0 = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
CASE_ID = "case-2025-000123"
GRID = "330206001001001"
DAY = date(2025, 1, 1)

_DEADLINE = {
    "deadline_id": f"{CASE_ID}/claim/1",
    "stage": "claim",
    "due_time": T0 + timedelta(hours=8),
}

_FIELDS: dict[str, dict[str, Any]] = {
    "CaseReported": {
        "grid_id": GRID,
        "category_code": "food_drug",
        "priority": "urgent",
        "title": "小区门口流动摊贩占道经营",
        "description": "庄市街道某小区门口有流动摊贩长期占道经营，影响通行和市容市貌。",
        "location": {"lat": 29.9421, "lon": 121.5934},
        "reporter_ref": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "reporter": {
            "subject_id": "resident-7f3a",
            "key_id": "k1",
            "nonce": "AAECAwQFBgcICQoL",
            "ciphertext": "c2VhbGVkIGRldGFpbHMgb2YgdGhlIHJlcG9ydGVy",
        },
        "channel": "grid_visit",
        "visit_id": "visit-001",
        "attachments_count": 2,
    },
    "CaseAccepted": {
        "category_code": "city_appearance",
        "priority": "normal",
        "comment": "改派市容",
    },
    "CaseRejected": {
        "reason": "duplicate",
        "duplicate_of": "case-2025-000100",
        "comment": "重复上报",
    },
    "CaseDispatched": {"department_code": "dept.law-enforcement", "instructions": "请尽快处置"},
    "CaseClaimed": {"department_code": "dept.law-enforcement"},
    "CaseTransferred": {
        "from_department": "dept.law-enforcement",
        "to_department": "dept.market-supervision",
        "reason": "涉及食品经营许可",
    },
    "CaseReturned": {"department_code": "dept.housing", "reason": "不属本部门职责"},
    "HandoffRequested": {
        "department_code": "dept.law-enforcement",
        "reason": "涉及食品经营许可，不属本部门职责",
        "suggested_department": "dept.market-supervision",
    },
    "HandoffRuled": {
        "request_id": "case-2025-000123/sub-5",
        "upheld": True,
        "department_code": "dept.market-supervision",
        "comment": "属市场监管职责",
    },
    "CaseExtended": {
        "stage": "handle",
        "extra_working_hours": 16,
        "approved_by": "official-17",
        "reason": "需协调多部门",
    },
    "CaseSuspended": {"reason": "等待司法鉴定结果"},
    "CaseResumed": {},
    "CaseEscalated": {"from_level": "street", "to_level": "district", "reason": "街道无法协调"},
    "CaseResolved": {
        "department_code": "dept.law-enforcement",
        "resolution": "已劝离摊贩并设置提示牌",
    },
    "CaseVerified": {
        "passed": True,
        "comment": None,
        "worker_id": "worker-042",
        "location": {"lat": 29.9422, "lon": 121.5935},
    },
    "CaseReopened": {"reason": "failed_verification", "comment": "摊贩又回来了"},
    "CaseClosed": {},
    "CaseEvaluated": {"satisfaction": 5, "comment": "处理及时"},
    "DeadlineScheduled": {
        **_DEADLINE,
        "working_hours": 8,
        "policy_id": "sla.default",
        "policy_version": 1,
        "calendar_version": "2025.1",
        "started_at": T0,
    },
    "DeadlineWarned": dict(_DEADLINE),
    "DeadlineBreached": dict(_DEADLINE),
    "CaseUrged": {**_DEADLINE, "urge_number": 1, "department_code": "dept.law-enforcement"},
    "CaseSupervised": {
        **_DEADLINE,
        "level": "street",
        "supervision_due_time": T0 + timedelta(hours=40),
        "department_code": "dept.law-enforcement",
    },
    "CaseNoticed": {
        **_DEADLINE,
        "period": "2025-03",
        "supervision_level": "street",
        "department_code": "dept.law-enforcement",
    },
    "CaseParked": {"reason": "需列入明年改造计划，待资金落实", "review_date": date(2025, 6, 30)},
    "CaseUnparked": {"comment": "改造资金已到位"},
    "SubmissionRejected": {
        "submission_event_id": "5b0c7d1e-0000-4000-8000-000000000001",
        "submission_type": "CaseClaimed",
        "submission_key": CASE_ID,
        "submission_source_system": "dept.market-supervision",
        "code": "INVALID_TRANSITION",
        "message": "case case-2025-000123 is reported; CaseClaimed needs dispatched",
    },
    "PersonalDataErased": {
        "subject_id": "resident-7f3a",
        "keys_deleted": 1,
        "reason": "the resident's request of 2025-06-02 (PIPL art. 47), ref. NB-2025-0612",
    },
    "SubmissionOutcome": {
        "submission_event_id": "5b0c7d1e-0000-4000-8000-000000000002",
        "submission_type": "CaseClaimed",
        "submission_key": CASE_ID,
        "submission_source_system": "dept.market-supervision",
        "submission_stream": "case",
        "status": "DUPLICATE",
        "first_status": "ACCEPTED",
        "sequence": 4,
        "events": 1,
        "inbox_topic": "fq.case.inbox",
        "inbox_partition": 3,
        "inbox_offset": 1024,
    },
    "VisitRecorded": {
        "visit_id": "visit-001",
        "grid_id": GRID,
        "worker_id": "worker-042",
        "started_at": T0 - timedelta(hours=2),
        "ended_at": T0,
        "households_visited": 12,
        "items_checked": ["food_drug", "fire", "safety_hazard"],
        "findings": [CASE_ID],
        "track": [
            {"t": T0 - timedelta(hours=2), "lat": 29.9401, "lon": 121.5911},
            {"t": T0 - timedelta(hours=1), "lat": 29.9421, "lon": 121.5934},
        ],
        "notes": "走访正常",
    },
    "PlaceDefined": {
        "code": GRID,
        "level": "grid",
        "name": "庄市街道勤勇村第一网格",
        "parent_code": "330206001001",
        "effective_from": DAY,
        "boundary": [
            {"lat": 29.9401, "lon": 121.5911},
            {"lat": 29.9401, "lon": 121.5951},
            {"lat": 29.9431, "lon": 121.5951},
            {"lat": 29.9431, "lon": 121.5911},
        ],
    },
    "PlaceRetired": {"code": GRID, "effective_from": date(2025, 7, 1)},
    "WorkerAssigned": {
        "worker_id": "worker-042",
        "role": "grid_worker",
        "grid_id": GRID,
        "effective_from": DAY,
        "effective_to": None,
    },
    "DepartmentDefined": {
        "code": "dept.market-supervision",
        "name": "市场监管",
        "effective_from": DAY,
    },
    "CategoryDefined": {
        "code": "food_drug",
        "name": "食品药品",
        "default_department_code": "dept.market-supervision",
        "sla_policy_id": "sla.default",
        "effective_from": DAY,
    },
    "SlaPolicyDefined": {
        "policy_id": "sla.default",
        "version": 1,
        "limits": [
            {"stage": "claim", "priority": "normal", "working_hours": 8, "warn_before_hours": 2},
            {"stage": "handle", "priority": "normal", "working_hours": 40, "warn_before_hours": 8},
            {"stage": "verify", "priority": "normal", "working_hours": 16, "warn_before_hours": 0},
        ],
        "effective_from": DAY,
    },
    "CalendarDefined": {
        "calendar_version": "2025.1",
        "year": 2025,
        "holidays": [date(2025, 1, 1), date(2025, 1, 28), date(2025, 1, 29)],
        "working_weekends": [date(2025, 1, 26), date(2025, 2, 8)],
        "working_hours": [
            {"start_minute": 510, "end_minute": 720},
            {"start_minute": 810, "end_minute": 1050},
        ],
    },
    "LexiconPublished": {
        "lexicon_version": "2025Q1",
        "user_words": ["占道经营", "流动摊贩"],
        "stop_words": ["的", "了"],
        "effective_from": DAY,
    },
    "SourceSystemDefined": {
        "system": "dept.market-supervision.app",
        "event_types": ["CaseClaimed", "CaseResolved"],
        "departments": ["dept.market-supervision"],
        "districts": ["330206"],
        "effective_from": DAY,
    },
}


def example_data(event_type: str, **overrides: Any) -> dict[str, Any]:
    """A valid raw dict for ``event_type``, with ``overrides`` applied (not validated)."""
    model = model_for(event_type)
    envelope = {
        "event_id": str(uuid.uuid4()),
        "event_time": T0,
        "recorded_time": T0 + timedelta(minutes=5),
        "source_system": "gridapp",
        "actor": {"id": "worker-042", "role": "grid_worker"},
        "correlation_id": None,
        "causation_id": None,
        "sequence": None,
    }
    envelope.update(overrides.pop("envelope", {}))
    data: dict[str, Any] = {"envelope": envelope}
    if model.stream == "case":
        data["case_id"] = CASE_ID
    data.update(_FIELDS[event_type])
    data.update(overrides)
    return data


def example_event(event_type: str, **overrides: Any) -> Event:
    """A validated example event of ``event_type`` with ``overrides`` applied."""
    return model_for(event_type).model_validate(example_data(event_type, **overrides))
