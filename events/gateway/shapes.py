"""The gateway's answers as response models, for its OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from events.problems import ProblemBody

__all__ = ["BatchAnswer", "BatchItem", "OutcomeItem", "OutcomePage", "Receipt", "SubmissionStatus"]


class Receipt(BaseModel):
    """A submission Kafka has acknowledged; its outcome is at ``location``."""

    event_id: str
    event_type: str
    status: Literal["pending"] = "pending"
    location: str


class BatchItem(BaseModel):
    """One item of a batch: 202 with its receipt, or its problem."""

    index: int
    status: int
    receipt: Receipt | None = None
    problem: ProblemBody | None = None


class BatchAnswer(BaseModel):
    accepted: int
    refused: int
    results: list[BatchItem]


class SubmissionStatus(BaseModel):
    """What became of one submission."""

    event_id: str
    status: Literal["pending", "accepted", "rejected"]
    event_type: str | None = None
    submitted_at: datetime | None = None
    cursor: int | None = None
    sequence: int | None = None
    code: str | None = None
    message: str | None = None


class OutcomeItem(BaseModel):
    """One outcome of ``fq.outcomes``; ``cursor`` resumes after it."""

    cursor: int
    event_id: str
    event_type: str
    key: str
    stream: str
    status: Literal["ACCEPTED", "REJECTED", "DUPLICATE"]
    first_status: Literal["ACCEPTED", "REJECTED"] | None = None
    sequence: int | None = None
    code: str | None = None
    message: str | None = None


class OutcomePage(BaseModel):
    outcomes: list[OutcomeItem]
    next: int
