"""Load for the fault suite: a simulated street's days sent while the faults happen.

Case events go through the publisher SDK, visits through the gateway's batch route, each on a
thread of its own at a steady pace, so every fault lands under load. A submission counts as
sent once it is acknowledged (the SDK's receipt, the gateway's 202); one that is not (the
broker restarting, the gateway killed mid-request) is sent again in the next round, under the
same event id and ahead of the rest, as an integrator's retry would be. Retries can put a
submission in the inbox twice: the workflow must answer the second as a duplicate.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import httpx

from events.errors import FengqiaoError
from events.models import Event, VisitRecorded
from events.publisher import Publisher, PublisherSettings
from infra.settings import ConnectionSettings
from simulate.activity import day_events
from simulate.city import City
from tests.integration.gateway_helpers import as_submission

BATCH = 40
START = date(2025, 3, 3)
DRAIN_S = 180.0


@dataclass
class Channel:
    """What one way in has sent: acknowledged ids, attempts, and what waits to be sent again."""

    name: str
    acked: set[str] = field(default_factory=set)
    attempts: int = 0
    failed_attempts: int = 0
    retry: list[Event] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # 4xx answers, not to be retried

    def settle(self, batch: list[Event], ok: set[str], refused: dict[str, str]) -> None:
        self.attempts += 1
        self.acked |= ok
        self.refused.update(refused)
        self.retry = [e for e in batch if e.envelope.event_id not in ok | set(refused)]
        if self.retry:
            self.failed_attempts += 1


def days(city: City, seed: int) -> Iterator[Event]:
    """The street's days from ``START``, one after another, for as long as they are asked for."""
    rng = random.Random(seed)
    day = START
    while True:
        yield from day_events(city, day, rng, visits_per_worker=0.5, discovery_rate=0.2)
        day += timedelta(days=1)


class Load:
    """Two senders at ``rate`` submissions per second each, until ``stop``."""

    def __init__(
        self, connection: ConnectionSettings, gateway_url: str, key: str, city: City, seed: int,
        rate: float,
    ) -> None:  # fmt: skip
        self.connection = connection
        self.gateway_url = gateway_url
        self.key = key
        self.interval_s = BATCH / rate
        self.sdk = Channel("sdk")
        self.gateway = Channel("gateway")
        self._cases: list[Event] = []
        self._visits: list[Event] = []
        self._source = days(city, seed)
        self._source_lock = threading.Lock()
        self._halt = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(self.sdk, self._send_sdk), daemon=True),
            threading.Thread(target=self._run, args=(self.gateway, self._send_gateway), daemon=True),
        ]  # fmt: skip
        self._publisher = Publisher(
            PublisherSettings(
                kafka_bootstrap=connection.kafka_bootstrap,
                registry_url=connection.registry_url,
                publish_timeout_s=10.0,
                # the broker's absence is the point here: its connection errors are not news
                kafka_overrides={"log_level": "0"},
            )
        )
        self._http = httpx.Client(
            base_url=gateway_url, headers={"Authorization": f"Bearer {key}"}, timeout=20.0
        )
        self.errors: list[str] = []

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def acked(self) -> set[str]:
        return self.sdk.acked | self.gateway.acked

    def stop(self) -> None:
        """Stop taking new submissions, send what is still unacknowledged until it is (or
        ``DRAIN_S`` passes), and close the clients."""
        self._halt.set()
        for thread in self._threads:
            thread.join(DRAIN_S + 60)
        self._publisher.close()
        self._http.close()

    def unsent(self) -> int:
        return len(self.sdk.retry) + len(self.gateway.retry)

    # --- the senders -----------------------------------------------------------------------
    def _next(self, channel: Channel) -> list[Event]:
        """The channel's retries first, then new submissions, up to ``BATCH``."""
        batch = list(channel.retry)
        queue = self._visits if channel is self.gateway else self._cases
        with self._source_lock:
            while len(batch) < BATCH and not self._halt.is_set():
                if not queue:
                    for event in self._source:
                        (self._visits if isinstance(event, VisitRecorded) else self._cases).append(
                            event
                        )
                        if len(self._visits) >= BATCH and len(self._cases) >= BATCH:
                            break
                batch.append(queue.pop(0))
        return batch

    def _run(
        self, channel: Channel, send: Callable[[list[Event]], tuple[set[str], dict[str, str]]]
    ) -> None:
        draining_until = None
        while True:
            if self._halt.is_set():
                if not channel.retry:
                    return
                draining_until = draining_until or time.monotonic() + DRAIN_S
                if time.monotonic() > draining_until:
                    return
            began = time.monotonic()
            batch = self._next(channel)
            if batch:
                try:
                    ok, refused = send(batch)
                except Exception as exc:  # noqa: BLE001 - any failure is a retry, and recorded
                    self.errors.append(f"{channel.name}: {type(exc).__name__}")
                    ok, refused = set(), {}
                channel.settle(batch, ok, refused)
            time.sleep(max(0.0, self.interval_s - (time.monotonic() - began)))

    def _send_sdk(self, batch: list[Event]) -> tuple[set[str], dict[str, str]]:
        try:
            result = self._publisher.publish_batch(batch)
        except FengqiaoError as exc:
            self.errors.append(f"sdk: {type(exc).__name__}")
            return set(), {}
        self.errors += [f"sdk: {type(f.error).__name__}" for f in result.failures]
        return {r.event_id for r in result.receipts}, {}

    def _send_gateway(self, batch: list[Event]) -> tuple[set[str], dict[str, str]]:
        body = {"events": [as_submission(e) for e in batch]}
        try:
            answer = self._http.post("/v1/events/batch", json=body)
        except httpx.HTTPError as exc:
            self.errors.append(f"gateway: {type(exc).__name__}")
            return set(), {}
        if answer.status_code != 200:
            self.errors.append(f"gateway: {answer.status_code}")
            return set(), {}
        ok: set[str] = set()
        refused: dict[str, str] = {}
        for item, event in zip(answer.json()["results"], batch, strict=True):
            event_id = event.envelope.event_id
            if item["status"] == 202:
                ok.add(event_id)
                continue
            self.errors.append(f"gateway item: {item['status']}")
            if item["status"] not in (409, 429, 503):
                refused[event_id] = f"{item['status']}: {item.get('problem', {}).get('title')}"
        return ok, refused
