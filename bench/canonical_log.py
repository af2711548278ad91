"""A canonical log written straight from the pure workflow core, for projector tests and the
replay benchmark: the simulated city's submissions decided by the same ``decide`` functions
the faust workflow runs, stamped with their sequences, and produced to canonical topics.

This is the workflow's output without the workflow's speed limit: a million canonical events
in about a minute, where going through the inbox would take a quarter of an hour.
Deadline warnings and breaches are submitted as the trigger would, at the event time of the
case's next step (or at the end of the run for cases still open).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

from confluent_kafka import Producer

from domain.case_state import CaseState, evolve
from domain.decisions import Accepted
from domain.reference_rules import decide_reference
from domain.reference_view import ReferenceView
from domain.state_machine import decide, due_signals, signal_submission
from domain.visit_rules import decide_visit
from events.codec import AvroCodec
from events.kafka_io import Deliveries, produce
from events.models import Event
from events.topics import CASE_EVENTS, REFERENCE_EVENTS, REJECTIONS, VISIT_EVENTS
from simulate.activity import day_events
from simulate.city import CityShape, reference_events

__all__ = ["canonical_events", "write_canonical_log"]


def canonical_events(
    shape: CityShape, seed: int, start: date, days: int, visits_per_worker: float = 1.0
) -> Iterator[tuple[str, Event]]:
    """(stream, canonical event) in log order: reference data first, then each day."""
    city, reference = reference_events(shape, seed)
    view = ReferenceView()
    for submission in reference:
        decision = decide_reference(view, submission)
        if isinstance(decision, Accepted):
            view.extend(decision.events)
            yield from (("reference", e) for e in decision.events)
    states: dict[str, CaseState] = {}
    visit_sequences: dict[str, int] = {}
    rng = random.Random(seed)
    last: datetime | None = None
    for n in range(days):
        day = start + timedelta(days=n)
        for submission in day_events(city, day, rng, visits_per_worker=visits_per_worker):
            last = submission.envelope.event_time
            if submission.stream == "visit":
                grid = submission.grid_id  # type: ignore[attr-defined]
                seq = visit_sequences.get(grid, 0) + 1
                decision = decide_visit(submission, view, sequence=seq)
                if isinstance(decision, Accepted):
                    visit_sequences[grid] = seq
                    yield from (("visit", e) for e in decision.events)
                continue
            case_id = submission.case_id  # type: ignore[attr-defined]
            yield from _signals(states, case_id, last, view)
            yield from _decide(states, case_id, submission, view)
    if last is not None:
        for case_id in sorted(states):
            yield from _signals(states, case_id, last + timedelta(days=30), view)


def _decide(
    states: dict[str, CaseState], case_id: str, submission: Event, view: ReferenceView
) -> Iterator[tuple[str, Event]]:
    decision = decide(states.get(case_id), submission, view)
    if isinstance(decision, Accepted):
        for event in decision.events:
            states[case_id] = evolve(states.get(case_id), event)  # type: ignore[arg-type]
            yield "case", event


def _signals(
    states: dict[str, CaseState], case_id: str, now: datetime, view: ReferenceView
) -> Iterator[tuple[str, Event]]:
    state = states.get(case_id)
    if state is None:
        return
    for signal in due_signals(state, now, view):
        yield from _decide(states, case_id, signal_submission(case_id, signal, now), view)


def write_canonical_log(
    bootstrap: str,
    codec: AvroCodec,
    events: Iterator[tuple[str, Event]],
    prefix: str = "",
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Produce canonical events to ``<prefix>fq.*.events`` (and refusals, stream
    ``rejection``, to ``<prefix>fq.rejections``); counts per stream.

    Raises:
        PublishFailed: some record was not written (a log with a hole is never returned).
    """
    topics = {
        "case": CASE_EVENTS,
        "visit": VISIT_EVENTS,
        "reference": REFERENCE_EVENTS,
        "rejection": REJECTIONS,
    }
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "partitioner": "murmur2_random",
        }
    )
    counts: dict[str, int] = {}
    deliveries = Deliveries()
    for stream, event in events:
        topic = prefix + topics[stream]
        value = codec.encode(topics[stream], event)
        produce(producer, topic, value, event.key().encode(), deliveries)
        counts[stream] = counts.get(stream, 0) + 1
        if on_progress is not None and sum(counts.values()) % 10_000 == 0:
            on_progress(sum(counts.values()))
    deliveries.flush(producer, 120, "canonical log")
    return counts
