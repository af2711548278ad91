"""Reference-data events (stream ``reference``, namespace ``fengqiao.reference``).

Places, worker assignments, departments, categories, SLA policies, the working-time calendar
and the hot-word lexicon are effective-dated definitions, keyed by their entity's id, so any
past period can be recomputed with the definitions in force then.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    Strict,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from events.models.envelope import (
    INT32_MAX,
    Bool,
    Event,
    Frozen,
    GeoPoint,
    Id,
    Name,
    PlaceLevel,
    Priority,
    Reason,
    Stage,
    not_before,
)

__all__ = [
    "REFERENCE_EVENTS",
    "CalendarDefined",
    "CategoryDefined",
    "DepartmentDefined",
    "LexiconPublished",
    "PersonalDataErased",
    "PlaceDefined",
    "PlaceRetired",
    "ReferenceEvent",
    "SlaLimit",
    "SlaPolicyDefined",
    "SourceSystemDefined",
    "WorkerAssigned",
    "WorkerRole",
    "WorkingSpan",
]

Hours = Annotated[int, Strict(), Field(ge=1, le=2000)]
MinuteOfDay = Annotated[int, Strict(), Field(ge=0, le=1440)]


class ReferenceEvent(Event):
    """Base of the reference events; ``key_field`` names the entity id."""

    stream: ClassVar[Literal["case", "visit", "reference"]] = "reference"
    key_field: ClassVar[str] = "code"


class WorkerRole(enum.StrEnum):
    grid_worker = "grid_worker"
    grid_leader = "grid_leader"


class PlaceDefined(ReferenceEvent):
    """A place defined from a date; ``boundary`` is the outer ring of its polygon (v2).

    The ring is open: a last point that repeats the first is dropped on reading, so a closed
    and an open ring of the same points give the same event. At least 3 distinct points.
    """

    code: Id
    level: PlaceLevel
    name: Name
    parent_code: Id | None = None
    effective_from: date
    boundary: tuple[GeoPoint, ...] | None = None

    @field_validator("boundary")
    @classmethod
    def _open_ring(cls, value: tuple[GeoPoint, ...] | None) -> tuple[GeoPoint, ...] | None:
        if value is None:
            return None
        if len(value) > 1 and value[-1] == value[0]:
            value = value[:-1]
        if len(set(value)) < 3:
            raise ValueError("a boundary needs at least 3 distinct points")
        return value

    @field_serializer("boundary", mode="wrap")
    def _as_list(
        self, value: tuple[GeoPoint, ...] | None, handler: SerializerFunctionWrapHandler
    ) -> list[dict[str, float]] | None:
        # fastavro reads a tuple in a union's place as (branch name, value): dump a list
        dumped = handler(value)
        return None if dumped is None else list(dumped)


class PlaceRetired(ReferenceEvent):
    code: Id
    effective_from: date


class WorkerAssigned(ReferenceEvent):
    key_field: ClassVar[str] = "worker_id"

    worker_id: Id
    role: WorkerRole
    grid_id: Id
    effective_from: date
    effective_to: date | None = None

    _ends_after_start = not_before("effective_to", "effective_from")


class DepartmentDefined(ReferenceEvent):
    code: Id
    name: Name
    effective_from: date


class CategoryDefined(ReferenceEvent):
    code: Id
    name: Name
    default_department_code: Id
    sla_policy_id: Id
    effective_from: date


class SlaLimit(Frozen):
    stage: Stage
    priority: Priority
    working_hours: Hours
    warn_before_hours: Annotated[int, Strict(), Field(ge=0, le=2000)]
    urge_every_hours: Annotated[int, Strict(), Field(ge=0, le=2000)] = 0
    max_urges: Annotated[int, Strict(), Field(ge=0, le=1000)] = 0
    street_supervision_after_hours: Annotated[int, Strict(), Field(ge=0, le=2000)] = 0
    district_supervision_after_hours: Annotated[int, Strict(), Field(ge=0, le=2000)] = 0
    supervision_hours: Annotated[int, Strict(), Field(ge=0, le=2000)] = 0
    monthly_notice: Bool = False

    @model_validator(mode="after")
    def _ladder_in_order(self) -> SlaLimit:
        street, district = (
            self.street_supervision_after_hours,
            self.district_supervision_after_hours,
        )
        if street and district and district <= street:
            raise ValueError("district supervision must come after the street's")
        if (street or district) and not self.supervision_hours:
            raise ValueError("supervision needs supervision_hours >= 1")
        return self


class SlaPolicyDefined(ReferenceEvent):
    key_field: ClassVar[str] = "policy_id"

    policy_id: Id
    version: Annotated[int, Strict(), Field(ge=1, le=INT32_MAX)]
    limits: tuple[SlaLimit, ...]
    effective_from: date
    verify_distance_m: Annotated[int, Strict(), Field(ge=1, le=100_000)] = 500

    @field_validator("limits")
    @classmethod
    def _one_per_pair(cls, value: tuple[SlaLimit, ...]) -> tuple[SlaLimit, ...]:
        pairs = [(limit.stage, limit.priority) for limit in value]
        if len(set(pairs)) != len(pairs):
            raise ValueError("at most one limit per (stage, priority)")
        return value


class WorkingSpan(Frozen):
    start_minute: MinuteOfDay
    end_minute: MinuteOfDay

    _ends_after_start = not_before("end_minute", "start_minute", strictly=True)


class CalendarDefined(ReferenceEvent):
    key_field: ClassVar[str] = "calendar_version"

    calendar_version: Id
    year: Annotated[int, Strict(), Field(ge=2000, le=2100)]
    holidays: tuple[date, ...]
    working_weekends: tuple[date, ...]
    working_hours: tuple[WorkingSpan, ...]

    @field_validator("holidays", "working_weekends")
    @classmethod
    def _in_year(cls, value: tuple[date, ...], info: ValidationInfo) -> tuple[date, ...]:
        year = info.data.get("year")
        if year is not None and any(day.year != year for day in value):
            raise ValueError(f"every date must be in {year}")
        return value


class LexiconPublished(ReferenceEvent):
    key_field: ClassVar[str] = "lexicon_version"

    lexicon_version: Id
    user_words: tuple[Id, ...]
    stop_words: tuple[Id, ...]
    effective_from: date


class PersonalDataErased(ReferenceEvent):
    key_field: ClassVar[str] = "subject_id"

    subject_id: Id
    keys_deleted: Annotated[int, Strict(), Field(ge=0, le=1000)]
    reason: Reason


class SourceSystemDefined(ReferenceEvent):
    """What a submitting system may submit: its credential's scope, ``"*"`` meaning any."""

    key_field: ClassVar[str] = "system"

    system: Id
    event_types: tuple[Id, ...]
    departments: tuple[Id, ...]
    districts: tuple[Id, ...]
    effective_from: date


REFERENCE_EVENTS: tuple[type[ReferenceEvent], ...] = (
    PlaceDefined,
    PlaceRetired,
    WorkerAssigned,
    DepartmentDefined,
    CategoryDefined,
    SlaPolicyDefined,
    CalendarDefined,
    LexiconPublished,
    PersonalDataErased,
    SourceSystemDefined,
)
