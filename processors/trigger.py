"""The deadline trigger: the one place the wall clock enters the workflow.

Every ``FQ_TRIGGER_INTERVAL_S`` a timer looks at the cases of the partitions this worker owns,
asks the pure ``due_signals(state, now, ref)`` which warnings and breaches are due and
``ladder.due_steps(state, now, ref)`` which steps of the supervision ladder (CaseUrged,
CaseSupervised, CaseNoticed), and submits each to the case inbox, on the case's own partition.
The workflow then decides them like any other submission: a case that has moved on rejects
them (STALE_DEADLINE), and a signal already taken is a duplicate (its event id is derived from
the deadline, the kind and the due time, so submitting it again is idempotent).

Signals are sent outside the agents' transactions, with the app's plain producer (``send``):
they are submissions, not outputs, and a transaction would hold them back until the
partition's next commit. A signal is not sent again for ``RESUBMIT_AFTER_INTERVALS`` runs, so
the inbox does not fill with copies while the workflow takes the first one.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from domain.errors import RulesError
from domain.ladder import due_steps, step_submission
from domain.state_machine import due_signals, signal_submission
from events.codec import AvroCodec
from events.topics import CASE_INBOX
from processors.changelog import Table
from processors.reference_feed import ReferenceFeed
from processors.settings import WorkflowSettings
from processors.state_store import loads

__all__ = ["DeadlineTrigger"]

log = logging.getLogger("fengqiao.trigger")
RESUBMIT_AFTER_INTERVALS = 5


class DeadlineTrigger:
    """Submits the deadline signals that are due for this worker's cases.

    Args:
        cases: the table of case records.
        owned: the case-inbox partitions this worker owns, with their tables restored.
        send: writes one record (topic, key, value, partition) outside any transaction.
    """

    def __init__(
        self,
        settings: WorkflowSettings,
        codec: AvroCodec,
        cases: Table,
        feed: ReferenceFeed,
        owned: Callable[[], set[int]],
        send: Callable[[str, bytes, bytes, int], Awaitable[None]],
    ) -> None:
        self.owned = owned
        self.send = send
        self.settings = settings
        self.codec = codec
        self.cases = cases
        self.feed = feed
        self.counts: Counter[str] = Counter()
        self._sent: dict[str, float] = {}  # signal event id -> monotonic time submitted

    async def run(self) -> None:
        """One pass over the owned cases (the app's timer calls it)."""
        await self.feed.ready()
        inbox = self.settings.topic(CASE_INBOX)
        owned = self.owned()
        if not owned:
            return
        now = datetime.now(UTC)
        clock = time.monotonic()
        hold = self.settings.trigger_interval_s * RESUBMIT_AFTER_INTERVALS
        self._sent = {k: t for k, t in self._sent.items() if clock - t < hold}
        view = self.feed.view
        cases = (
            (key, raw) for partition in sorted(owned) for key, raw in self.cases.items(partition)
        )
        for key, raw in cases:
            record = loads(raw)
            state = record.state
            try:
                submissions = [
                    *(
                        signal_submission(state.case_id, s, now)
                        for s in due_signals(state, now, view)
                    ),
                    *(step_submission(state, step) for step in due_steps(state, now, view)),
                ]
            except RulesError as exc:
                self.counts["trigger.errors"] += 1
                log.error("deadline trigger: case %s: %s", state.case_id, exc)
                continue
            for submission in submissions:
                if submission.envelope.event_id in self._sent:
                    continue
                value = self.codec.encode(CASE_INBOX, submission)
                await self.send(inbox, key, value, record.partition)
                self._sent[submission.envelope.event_id] = clock
                self.counts[f"trigger.{submission.event_type}"] += 1
                log.info(
                    "deadline trigger: %s %s of case %s (due %s)",
                    submission.event_type,
                    submission.deadline_id,
                    state.case_id,
                    submission.due_time.isoformat(),
                )
