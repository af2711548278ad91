"""Live mode: the simulated stream paced out at a given rate, with times near the wall clock.

The simulation runs faster than real time (a whole city records about 75,000 events a day,
under one a second), so ``paced`` hands out its events at ``rate`` per second and
``LiveClock`` maps simulated instants onto the wall clock: each event's recording time
becomes the moment it is sent, and every other instant (its event time, a visit's start,
its track) is interpolated between the moments already sent. The map only ever moves
forward, so everything in order before (a case's steps, a visit's track) stays in order,
and departments' late posts are still late, only by less.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from itertools import chain

from events.models import Event, VisitRecorded

__all__ = ["LiveClock", "paced", "retime"]

HORIZON_S = 3 * 86_400.0  # the longest a simulated instant lies before its recording
CATCH_UP_S = 5.0  # a consumer this many seconds behind gets its backlog; further, slots are lost


class LiveClock:
    """A monotone map from simulated instants to wall-clock instants, built as events go out."""

    def __init__(self, sim_origin: datetime, wall_origin: datetime) -> None:
        self._sim = [sim_origin.timestamp()]
        self._wall = [wall_origin.timestamp()]

    def mark(self, sim: datetime, wall: datetime) -> None:
        """``sim`` (not before any earlier mark) is sent at ``wall``."""
        s, w = sim.timestamp(), max(wall.timestamp(), self._wall[-1])
        if s <= self._sim[-1]:
            return
        self._sim.append(s)
        self._wall.append(w)
        if len(self._sim) > 4096 and self._sim[len(self._sim) // 2] < s - HORIZON_S:
            half = len(self._sim) // 2
            del self._sim[:half], self._wall[:half]

    def wall(self, sim: datetime) -> datetime:
        """Where ``sim`` falls on the wall clock, to the millisecond (clamped to the marks)."""
        s = sim.timestamp()
        i = bisect_right(self._sim, s)
        if i == 0:
            w = self._wall[0]
        elif i == len(self._sim):
            w = self._wall[-1]
        else:
            s0, s1, w0, w1 = self._sim[i - 1], self._sim[i], self._wall[i - 1], self._wall[i]
            w = w0 + (w1 - w0) * (s - s0) / (s1 - s0)
        return datetime.fromtimestamp(int(w * 1000) / 1000, UTC)


def retime(event: Event, clock: LiveClock) -> Event:
    """``event`` with every instant it carries moved onto the wall clock."""
    env = event.envelope
    update: dict[str, object] = {
        "envelope": env.model_copy(
            update={
                "event_time": clock.wall(env.event_time),
                "recorded_time": clock.wall(env.recorded_time),
            }
        )
    }
    if isinstance(event, VisitRecorded):
        update["started_at"] = clock.wall(event.started_at)
        update["ended_at"] = clock.wall(event.ended_at)
        update["track"] = tuple(p.model_copy(update={"t": clock.wall(p.t)}) for p in event.track)
    return event.model_copy(update=update)


def paced(
    events: Iterable[Event],
    rate: float,
    sim_origin: datetime,
    duration_s: float | None = None,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    tick_s: float = 0.05,
) -> Iterator[list[Event]]:
    """Batches of retimed events, at most ``rate`` per second, until ``events`` ends or
    ``duration_s`` has passed (counted from the first event). A consumer that falls behind
    gets the missed events at once, up to ``CATCH_UP_S`` seconds' worth; beyond that the
    schedule moves on and the achieved rate is lower."""
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    source = iter(events)
    first = next(source, None)  # the clock starts once there is something to send
    if first is None:
        return
    source = chain((first,), source)
    started = origin = now()
    clock = LiveClock(sim_origin, datetime.fromtimestamp(started, UTC))
    sent = 0
    while duration_s is None or now() - started < duration_s:
        t = now()
        due = int((t - origin) * rate) - sent
        if due > CATCH_UP_S * rate:  # too far behind to catch up: skip the slots missed
            origin += (due - CATCH_UP_S * rate) / rate
            due = int(CATCH_UP_S * rate)
        batch: list[Event] = []
        for _ in range(max(due, 0)):
            event = next(source, None)
            if event is None:
                if batch:
                    yield batch
                return
            sent += 1
            clock.mark(
                event.envelope.recorded_time, datetime.fromtimestamp(origin + sent / rate, UTC)
            )
            batch.append(retime(event, clock))
        if batch:
            yield batch
        sleep(min(tick_s, max(0.0, origin + (sent + 1) / rate - now())))
