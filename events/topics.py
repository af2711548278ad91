"""The names of Fengqiao's topics and which stream each carries.

Names live here, in the language of the log, so that every room can use them; their
partitions and configs are declared in ``infra.topics``.
"""

from __future__ import annotations

CASE_INBOX = "fq.case.inbox"
VISIT_INBOX = "fq.visit.inbox"
REFERENCE_INBOX = "fq.reference.inbox"
CASE_EVENTS = "fq.case.events"
VISIT_EVENTS = "fq.visit.events"
REFERENCE_EVENTS = "fq.reference.events"
REJECTIONS = "fq.rejections"
OUTCOMES = "fq.outcomes"  # one answer per submission record, keyed by the submitting system

INBOX = {"case": CASE_INBOX, "visit": VISIT_INBOX, "reference": REFERENCE_INBOX}
CANONICAL = {"case": CASE_EVENTS, "visit": VISIT_EVENTS, "reference": REFERENCE_EVENTS}


def dlq(topic: str) -> str:
    """The dead-letter topic beside ``topic``."""
    return f"{topic}.dlq"


def topics_for_stream(stream: str) -> tuple[str, ...]:
    """The topics a stream's event types are written to, and so registered for."""
    if stream == "workflow":
        return (REJECTIONS, OUTCOMES)
    return INBOX[stream], CANONICAL[stream]
