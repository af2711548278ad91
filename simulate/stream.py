"""A city's activity as one stream, day after day, in the order the platform records it.

Each day is generated on its own (its RNG seeded from the seed and the date, so a day is the
same whatever day the run started on) and its events join a queue ordered by recording time.
A case that runs over several days keeps its later steps queued; each day's batch is what
was recorded that local day, so only a few days of open cases are ever held in memory.
Steps recorded after the last day of a bounded run are left out and counted
(``Stats.beyond_window``): those cases are still open when the history ends.
"""

from __future__ import annotations

import heapq
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import count
from typing import TypeVar

from events.models import Event
from simulate.activity import Rates, simulate_day
from simulate.city import City
from simulate.clock import OfficeHours, day_start

__all__ = ["DayBatch", "Simulation", "Stats", "prefetched"]

T = TypeVar("T")
JOIN_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class DayBatch:
    """The events recorded on one local day, in recording order."""

    day: date
    events: list[Event]


@dataclass
class Stats:
    """What a run produced so far."""

    by_type: Counter[str] = field(default_factory=Counter)
    by_day: dict[date, int] = field(default_factory=dict)
    cases_by_channel: Counter[str] = field(default_factory=Counter)
    invalid: dict[str, str] = field(default_factory=dict)  # event id → expected rejection code
    beyond_window: int = 0
    generation_s: float = 0.0  # time spent generating, not waiting for the consumer

    @property
    def events(self) -> int:
        return sum(self.by_type.values())

    def invalid_by_code(self) -> Counter[str]:
        return Counter(self.invalid.values())

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "events": self.events,
            "by_type": dict(self.by_type.most_common()),
            "by_day": {d.isoformat(): n for d, n in sorted(self.by_day.items())},
            "cases_by_channel": dict(self.cases_by_channel.most_common()),
            "intended_rejections": dict(self.invalid_by_code().most_common()),
            "beyond_window": self.beyond_window,
            "generation_s": round(self.generation_s, 3),
        }


class Simulation:
    """The activity of ``city`` from ``start``, reproducible from ``seed``.

    Args:
        city: from ``simulate.city.reference_events``.
        seed: the same seed and start give the same events, ids included.
        start: the first simulated (local) day; not before ``city.effective_from``.
        rates: how much happens in a day.
        invalid_share: the share of cases that also carry one submission meant to be refused.
    """

    def __init__(
        self, city: City, seed: int, start: date, rates: Rates = Rates(), invalid_share: float = 0.0
    ) -> None:
        if start < city.effective_from:
            raise ValueError(f"start {start} is before the city exists ({city.effective_from})")
        self.city, self.seed, self.start = city, seed, start
        self.rates, self.invalid_share = rates, invalid_share
        self.office = OfficeHours()
        self.stats = Stats()
        self._queue: list[tuple[datetime, int, Event]] = []
        self._order = count()
        self._invalid: dict[str, str] = {}  # generated, not yet recorded

    def day_rng(self, day: date) -> random.Random:
        return random.Random(f"activity:{self.seed}:{day.isoformat()}")

    def days(self, days: int | None = None) -> Iterator[DayBatch]:
        """One batch per day from ``start``: ``days`` of them, or without end when None."""
        day = self.start
        while days is None or (day - self.start).days < days:
            began = time.perf_counter()
            activity = simulate_day(
                self.city, day, self.day_rng(day), self.office, self.rates, self.invalid_share
            )
            for event in activity.events:
                heapq.heappush(
                    self._queue, (event.envelope.recorded_time, next(self._order), event)
                )
            self._invalid.update(activity.invalid)
            self.stats.cases_by_channel.update(activity.cases)
            end = day_start(day + timedelta(days=1))
            batch = []
            while self._queue and self._queue[0][0] < end:
                batch.append(heapq.heappop(self._queue)[2])
            for event in batch:
                self.stats.by_type[event.event_type] += 1
                code = self._invalid.pop(event.envelope.event_id, None)
                if code is not None:
                    self.stats.invalid[event.envelope.event_id] = code
            self.stats.by_day[day] = len(batch)
            self.stats.generation_s += time.perf_counter() - began
            yield DayBatch(day, batch)
            day += timedelta(days=1)
        self.stats.beyond_window = len(self._queue)

    def events(self, days: int | None = None) -> Iterator[Event]:
        """The events of ``days(days)``, one after another."""
        for batch in self.days(days):
            yield from batch.events


def prefetched(items: Iterable[T], depth: int = 1) -> Generator[T, None, None]:
    """``items`` made in a background thread, up to ``depth`` ahead of the consumer, so that
    generating the next day overlaps publishing this one. An error in the thread is raised
    here. A consumer that stops early should close this generator (``contextlib.closing``):
    the thread then stops at its next item and is waited for."""
    handoff: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: str, value: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put("item", item):
                    return
            put("end", None)
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer, raised there)
            put("error", exc)

    thread = threading.Thread(target=work, name="simulate-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(JOIN_TIMEOUT_S)  # it notices at its next item: a day's generation at most
